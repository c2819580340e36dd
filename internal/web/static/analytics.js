// Pivand: the analytics page's recompute progress. Without this file the
// page reloads itself every few seconds while a run is going (a
// <noscript> refresh); with it, the phase, the figures and the bar update
// every second from /analytics/runs/{id}/progress, and the page reloads
// once, to show the results, when the run ends.
(function () {
  "use strict";

  function poll() {
    var box = document.querySelector("[data-analytics-poll]");
    if (!box || !window.fetch) return;
    var url = box.getAttribute("data-analytics-poll");
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { setTimeout(tick, 3000); return; }
          if (data.finished) {
            window.location.replace(window.location.pathname);
            return;
          }
          var bar = box.querySelector("[data-analytics-bar]");
          if (bar) bar.value = data.percent;
          var phase = box.querySelector("[data-analytics-phase]");
          if (phase) phase.textContent = data.phase;
          var figures = box.querySelector("[data-analytics-figures]");
          if (figures) figures.textContent = data.figures;
          setTimeout(tick, 1000);
        })
        .catch(function () { setTimeout(tick, 3000); });
    };
    setTimeout(tick, 1000);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", poll);
  } else {
    poll();
  }
})();
