// Pivand: the workflow builder. The builder is a plain form whose buttons
// re-render it on the server (add, move, remove a step; a changed menu
// shows the fields that go with it). This file only saves the clicks of
// "Update the form": a menu marked data-refresh re-renders the form as
// soon as it changes, and the page comes back at the same scroll place.
(function () {
  "use strict";

  var KEY = "pivand.wf.scroll";

  function init() {
    var form = document.querySelector("[data-wf-form]");
    if (!form) return;
    var refresh = form.querySelector("[data-refresh-button]");
    try {
      var y = sessionStorage.getItem(KEY);
      if (y !== null) {
        sessionStorage.removeItem(KEY);
        if (!document.querySelector("[autofocus]")) window.scrollTo(0, parseInt(y, 10) || 0);
      }
    } catch (e) { /* no storage: the page starts at the top */ }
    if (refresh) refresh.parentNode.hidden = true;
    form.addEventListener("submit", function (ev) {
      var op = ev.submitter && ev.submitter.value;
      if (op && op !== "save" && op !== "publish") {
        try { sessionStorage.setItem(KEY, String(window.scrollY)); } catch (e) { /* ignore */ }
      }
    });
    form.addEventListener("change", function (ev) {
      var t = ev.target;
      if (!t.matches || !t.matches("select[data-refresh]") || !refresh) return;
      if (form.requestSubmit) form.requestSubmit(refresh);
      else refresh.click();
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
