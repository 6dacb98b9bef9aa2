// Behaviour shared by every page, kept out of the markup so the Content
// Security Policy can refuse inline scripts: a <select data-autosubmit>
// submits its form when changed (the account switcher, the language picker).
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
