// Pivand: an import's progress page. Without this file the page reloads
// itself every few seconds (a <noscript> refresh) and has a Refresh
// button; with it, the counters and the bar update every second from
// ?format=json, and the page reloads once, to show the report, when the
// import ends.
(function () {
  "use strict";

  function poll() {
    var box = document.querySelector("[data-import-poll]");
    if (!box || !window.fetch || box.getAttribute("data-finished") === "true") return;
    var url = box.getAttribute("data-import-poll");
    var refresh = box.querySelector("[data-import-refresh]");
    if (refresh) refresh.hidden = true;
    var set = function (data) {
      Object.keys(data.fields || {}).forEach(function (name) {
        box.querySelectorAll('[data-import-field="' + name + '"]').forEach(function (el) {
          el.textContent = data.fields[name];
        });
      });
      var bar = box.querySelector("[data-import-bar]");
      if (bar) bar.value = data.percent;
      var status = box.querySelector("[data-import-status]");
      if (status) {
        status.textContent = data.status_text;
        status.className = "status " + data.status_class;
      }
    };
    var tick = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { setTimeout(tick, 3000); return; }
          set(data);
          if (data.finished) {
            window.location.replace(window.location.pathname);
            return;
          }
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
