// Card setup in the portal. The card goes from the browser straight to the
// gateway; the form posts back only the gateway's answer (a token or a
// SetupIntent id), so no card number ever reaches Ciclo's servers.
(function () {
  "use strict";
  var form = document.getElementById("card-setup");
  if (!form) return;
  var errorBox = document.getElementById("card-error");
  var gateway = form.dataset.gateway;

  function fail(message) {
    errorBox.textContent = message;
    form.querySelector("button[type=submit]").disabled = false;
  }

  if (gateway === "stripe") {
    var stripe = window.Stripe(form.dataset.publishableKey);
    var elements = stripe.elements({ clientSecret: form.dataset.clientSecret });
    var element = elements.create("payment");
    element.mount("#stripe-element");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      form.querySelector("button[type=submit]").disabled = true;
      // Stripe redirects back to return_url?setup_intent=seti_…; the page saves it
      // (paying an invoice: keeping the card only if "save" is ticked).
      var returnUrl = form.dataset.returnUrl;
      var save = document.getElementById("save-card");
      if (save && save.checked) returnUrl += (returnUrl.indexOf("?") < 0 ? "?" : "&") + "save=1";
      stripe
        .confirmSetup({ elements: elements, confirmParams: { return_url: returnUrl } })
        .then(function (result) { if (result.error) fail(result.error.message); });
    });
    return;
  }

  // The checkout offers boleto and Pix too: only a card is tokenized.
  function chosenMethod() {
    var chosen = form.querySelector("input[name=method]:checked");
    return chosen ? chosen.value : "card";
  }
  var cardFields = document.getElementById("card-fields");
  var offlineNote = document.getElementById("offline-note");
  form.querySelectorAll("input[name=method]").forEach(function (radio) {
    radio.addEventListener("change", function () {
      var card = chosenMethod() === "card";
      if (cardFields) cardFields.hidden = !card;
      if (offlineNote) offlineNote.hidden = card;
    });
  });

  form.addEventListener("submit", function (event) {
    if (chosenMethod() !== "card") return; // boleto or Pix: nothing to tokenize
    if (form.elements.reference.value) return; // tokenized: let it go
    event.preventDefault();
    form.querySelector("button[type=submit]").disabled = true;
    var exp = document.getElementById("card-exp").value.split("/");
    var year = parseInt((exp[1] || "").trim(), 10);
    fetch(form.dataset.tokenizeUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        number: document.getElementById("card-number").value,
        exp_month: parseInt((exp[0] || "").trim(), 10),
        exp_year: year < 100 ? 2000 + year : year,
        cvc: document.getElementById("card-cvc").value.trim(),
      }),
    })
      .then(function (response) { return response.json(); })
      .then(function (body) {
        if (body.error) return fail(body.error.message);
        form.elements.reference.value = body.id;
        form.submit();
      })
      .catch(function () { fail(form.dataset.networkError || "Network error, try again."); });
  });
})();
