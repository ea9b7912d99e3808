// The console's small shared behaviour (no inline scripts: the Content-Security-Policy forbids them).
(function () {
  "use strict";
  // After a failed submit the error summary gets the focus, so keyboard and screen reader users hear it.
  function focusSummary(root) {
    var summary = (root || document).querySelector("[data-autofocus]");
    if (summary) { summary.focus(); }
  }
  document.addEventListener("DOMContentLoaded", function () { focusSummary(document); });
  document.addEventListener("htmx:afterSwap", function (event) { focusSummary(event.target); });
  // A button with data-confirm="..." asks first (deactivate, delete, revert).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var text = (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { event.preventDefault(); }
  });
})();
