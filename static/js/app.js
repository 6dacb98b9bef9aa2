// Behaviour shared by every page, kept out of the markup so the Content
// Security Policy can refuse inline scripts: a <select data-autosubmit>
// submits its form when changed (the account switcher, the language picker).
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();

// A <button data-copy="#input"> copies that input's value (the portal link).
(function () {
  "use strict";
  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.querySelector(button.getAttribute("data-copy"));
      if (!input) { return; }
      input.select();
      var done = function () { button.textContent = button.getAttribute("data-copied") || "✓"; };
      if (navigator.clipboard) { navigator.clipboard.writeText(input.value).then(done, done); }
      else { document.execCommand("copy"); done(); }
    });
  });
})();
