// The test clock's advance form: the date field only matters for "To a date".
(function () {
  "use strict";
  function wire(form) {
    var by = form.querySelector("select[name=by]");
    var to = form.querySelector("input[name=to]");
    if (!by || !to) return;
    var box = to.closest("div");
    function sync() {
      var dated = by.value === "date";
      box.hidden = !dated;
      to.required = dated;
    }
    by.addEventListener("change", sync);
    sync();
  }
  function start() {
    document.querySelectorAll("form.clock-advance").forEach(wire);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
