// Pivand: the date range of the reports. Without this file the range form
// works as it is (choose "Custom range" to use the dates typed). With it,
// typing a date switches the preset to "Custom range", and choosing a
// preset shows it at once.
(function () {
  "use strict";
  var form = document.querySelector("[data-report-range]");
  if (!form) return;
  var preset = form.querySelector("[data-report-preset]");
  if (!preset) return;
  form.querySelectorAll("[data-report-date]").forEach(function (input) {
    input.addEventListener("input", function () {
      preset.value = "custom";
    });
  });
  preset.addEventListener("change", function () {
    if (preset.value !== "custom") {
      form.querySelectorAll("[data-report-date]").forEach(function (input) {
        input.value = "";
      });
      form.submit();
    }
  });
})();
