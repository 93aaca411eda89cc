// Draws the cyber-vigilance dashboards' charts with Chart.js, from the data-* attributes
// of each <canvas data-chart> (no inline script: the CSP forbids it). Every chart has a
// table of the same figures under it, for screen readers and for copying.
(function () {
  "use strict";
  // DSFR colours: blue France, its lighter tint, then illustrative colours.
  var PALETTE = ["#000091", "#6a6af4", "#e1000f", "#18753c", "#b34000", "#a558a0",
                 "#009081", "#695240", "#c3992a", "#417dc4"];

  function parse(value) {
    try { return JSON.parse(value || "[]"); } catch (e) { return []; }
  }

  function draw(canvas) {
    var kind = canvas.getAttribute("data-chart") || "bar";
    var labels = parse(canvas.getAttribute("data-labels"));
    var values = parse(canvas.getAttribute("data-values"));
    var round = kind === "doughnut";
    var horizontal = kind === "hbar";
    var valueAxis = { beginAtZero: true, ticks: { precision: 0 } };
    var options = {
      responsive: true,
      animation: false,
      indexAxis: horizontal ? "y" : "x",
      aspectRatio: horizontal ? 2.5 : 2,
      plugins: { legend: { display: round, position: "right" } }
    };
    if (!round) {
      options.scales = horizontal ? { x: valueAxis } : { y: valueAxis };
    }
    return new window.Chart(canvas, {
      type: round ? "doughnut" : (kind === "line" ? "line" : "bar"),
      data: {
        labels: labels,
        datasets: [{
          label: canvas.getAttribute("data-series") || "",
          data: values,
          backgroundColor: round ? PALETTE.slice(0, values.length) : PALETTE[0],
          borderColor: PALETTE[0]
        }]
      },
      options: options
    });
  }

  function init() {
    if (!window.Chart) { return; }  // the tables still carry every figure
    var canvases = document.querySelectorAll("canvas[data-chart]");
    for (var i = 0; i < canvases.length; i++) { draw(canvases[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
