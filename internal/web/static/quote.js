// Pivand: a quote's page. Shows the print button (a browser's "Save as
// PDF" makes the PDF; the page's print rules hide everything but the
// quote). Without this file the button stays hidden and the browser's own
// print command does the same.
(function () {
  "use strict";
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
