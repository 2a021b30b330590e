// The operator console's one script: on a reconcile run's page, post the next
// batch once the counts have been on screen a moment. Without it the operator
// presses the same button. Pressing Stop (any other form) cancels the post.
(function () {
  "use strict";
  var next = document.querySelector("form[data-advance]");
  if (!next) {
    return;
  }
  var cancelled = false;
  document.addEventListener("submit", function (event) {
    if (event.target !== next) {
      cancelled = true;
    }
  }, true);
  window.setTimeout(function () {
    if (!cancelled) {
      next.submit();
    }
  }, Number(next.getAttribute("data-advance")) || 300);
})();
