// The message template editor's live preview: the draft is posted as the
// merchant types and the preview (or the errors) shown.
(function () {
  "use strict";
  var form = document.getElementById("template-form");
  if (!form || !window.fetch) return;
  var timer = null;
  function refresh() {
    fetch(form.dataset.previewUrl, {method: "POST", body: new FormData(form), credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        var errors = document.getElementById("preview-errors");
        errors.textContent = "";
        if (data.errors) {
          Object.keys(data.errors).forEach(function (k) { errors.textContent += data.errors[k].join(" ") + " "; });
          return;
        }
        var subject = document.getElementById("preview-subject");
        if (subject) subject.textContent = data.subject;
        var frame = document.getElementById("preview-html");
        if (frame) frame.srcdoc = data.html;
        document.getElementById("preview-text").textContent = data.text;
      });
  }
  form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 400); });
})();
