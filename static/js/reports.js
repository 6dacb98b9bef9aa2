// Draws the report charts with Chart.js: each <canvas data-chart="ID"> reads its
// configuration from the <script type="application/json" id="ID"> the server
// wrote (reports/charts.py). Numbers are formatted in the page's language;
// money arrives in minor units and is shown in the report's currency.
(function () {
  "use strict";
  if (typeof Chart === "undefined") { return; }
  var lang = document.documentElement.lang || "en";

  function formatter(axis, spec) {
    if (axis === "money") {
      var money = new Intl.NumberFormat(lang, { style: "currency", currency: spec.currency, maximumFractionDigits: 0 });
      var scale = Math.pow(10, spec.exponent);
      return function (v) { return money.format(v / scale); };
    }
    if (axis === "percent") {
      var pct = new Intl.NumberFormat(lang, { style: "percent", maximumFractionDigits: 1 });
      return function (v) { return pct.format(v); };
    }
    var num = new Intl.NumberFormat(lang);
    return function (v) { return num.format(v); };
  }

  function draw(canvas) {
    var source = document.getElementById(canvas.getAttribute("data-chart"));
    if (!source) { return; }
    var spec = JSON.parse(source.textContent);
    var axes = spec.axes || { y: "count" };
    var scales = { x: { stacked: true, grid: { display: false } } };
    Object.keys(axes).forEach(function (id, index) {
      var fmt = formatter(axes[id], spec);
      scales[id] = {
        position: index === 0 ? "left" : "right",
        stacked: id === "y" && spec.kind === "mrr",
        beginAtZero: true,
        grid: { drawOnChartArea: index === 0 },
        ticks: { callback: fmt, maxTicksLimit: 6 }
      };
    });
    var chart = new Chart(canvas, {
      data: { labels: spec.labels, datasets: spec.datasets },
      options: {
        locale: lang,
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        interaction: { mode: "index", intersect: false },
        scales: scales,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var axis = axes[ctx.dataset.yAxisID || "y"] || "count";
                return ctx.dataset.label + ": " + formatter(axis, spec)(ctx.parsed.y);
              }
            }
          }
        }
      }
    });
    canvas.setAttribute("data-drawn", "1");
    canvas.ciclochart = chart;
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
