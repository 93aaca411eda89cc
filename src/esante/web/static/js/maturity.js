// Draws the maturity radar (and the awareness participation charts) with Chart.js, from the
// data-* attributes of each canvas (no inline script: the CSP forbids it). The tables under
// each chart carry the same figures.
(function () {
  "use strict";
  function parse(value) {
    try { return JSON.parse(value || "null"); } catch (e) { return null; }
  }

  function radar(canvas) {
    var datasets = [{
      label: canvas.getAttribute("data-series") || "Établissement",
      data: parse(canvas.getAttribute("data-values")) || [],
      backgroundColor: "rgba(0, 0, 145, 0.2)", borderColor: "#000091", pointBackgroundColor: "#000091"
    }];
    var median = parse(canvas.getAttribute("data-median"));
    if (median) {
      datasets.push({ label: "Médiane des établissements comparables", data: median,
        backgroundColor: "rgba(225, 0, 15, 0.08)", borderColor: "#e1000f", borderDash: [6, 4],
        pointBackgroundColor: "#e1000f" });
    }
    return new window.Chart(canvas, {
      type: "radar",
      data: { labels: parse(canvas.getAttribute("data-labels")) || [], datasets: datasets },
      options: { animation: false, responsive: true, aspectRatio: 1.6,
        scales: { r: { min: 0, max: 100, ticks: { stepSize: 20 } } } }
    });
  }

  function bars(canvas) {
    var share = canvas.getAttribute("data-kind") !== "count";
    var axis = share ? { min: 0, max: 100 } : { beginAtZero: true, ticks: { precision: 0 } };
    return new window.Chart(canvas, {
      type: "bar",
      data: { labels: parse(canvas.getAttribute("data-labels")) || [],
        datasets: [{ label: canvas.getAttribute("data-series") || "", backgroundColor: "#000091",
          data: parse(canvas.getAttribute("data-values")) || [] }] },
      options: { animation: false, responsive: true, indexAxis: "y",
        aspectRatio: (parse(canvas.getAttribute("data-labels")) || []).length <= 5 ? 4 : 2,
        scales: { x: axis }, plugins: { legend: { display: false } } }
    });
  }

  function init() {
    if (!window.Chart) { return; }
    document.querySelectorAll("canvas[data-radar]").forEach(radar);
    document.querySelectorAll("canvas[data-share-bars]").forEach(bars);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
