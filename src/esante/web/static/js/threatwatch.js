// Draws the threat watch's stacked bar chart of alert statuses per region with Chart.js,
// from the data-* attributes of <canvas data-stacked> (no inline script: the CSP forbids
// it). The table under the chart carries the same figures.
(function () {
  "use strict";
  var PALETTE = ["#e1000f", "#6a6af4", "#18753c", "#009081", "#b34000"];

  function parse(value) {
    try { return JSON.parse(value || "[]"); } catch (e) { return []; }
  }

  function draw(canvas) {
    var series = parse(canvas.getAttribute("data-series"));
    return new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: parse(canvas.getAttribute("data-labels")),
        datasets: series.map(function (s, i) {
          return { label: s.label, data: s.values, backgroundColor: PALETTE[i % PALETTE.length] };
        })
      },
      options: {
        responsive: true, animation: false, indexAxis: "y", aspectRatio: 1.6,
        scales: { x: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
                  y: { stacked: true } }
      }
    });
  }

  function init() {
    if (!window.Chart) { return; }
    var canvases = document.querySelectorAll("canvas[data-stacked]");
    for (var i = 0; i < canvases.length; i++) { draw(canvases[i]); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
