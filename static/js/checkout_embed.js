/* The embedded checkout's last page tells the merchant's page it is done:
   postMessage to window.parent, only to the origins the merchant allowed
   (the browser delivers it to the one that matches the parent). */
(function () {
  "use strict";
  var data = document.getElementById("ciclo-embed");
  var list = document.getElementById("ciclo-embed-origins");
  if (!data || !list || window.parent === window) { return; }
  var origins;
  try { origins = JSON.parse(list.textContent); } catch (e) { return; }
  var message = {
    type: "ciclo.checkout.completed",
    subscription: data.dataset.subscription,
    customer: data.dataset.customer,
    status: data.dataset.status
  };
  origins.forEach(function (origin) {
    try { window.parent.postMessage(message, origin); } catch (e) { /* not this one */ }
  });
})();
