/* "Confirming your payment": asks the shop for the order's state until PortOne's
 * truth is known, then moves on. */
(function () {
  "use strict";
  var INTERVAL_MS = 1500;
  var PATIENCE_MS = 60000;

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    var root = document.getElementById("nicepay-confirm");
    if (!root) { return; }
    var started = Date.now();

    function poll() {
      fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (status) {
          if (status && status.final && status.redirect) {
            window.location.assign(status.redirect);
            return;
          }
          next();
        })
        .catch(next);
    }

    function next() {
      if (Date.now() - started > PATIENCE_MS) {
        root.querySelector(".nicepay-slow").hidden = false;
        return;
      }
      window.setTimeout(poll, INTERVAL_MS);
    }

    poll();
  });
})();
