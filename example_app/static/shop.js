/* The order page just after a deposit: asks the plugin's status route until
 * PortOne's webhook has moved the order, then shows the page again. */
(function () {
  "use strict";
  var box = document.querySelector("[data-testid=confirming]");
  if (!box) { return; }
  var started = Date.now();
  function ask() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (status) {
        if (status.state !== box.dataset.state) {
          window.location.replace(box.dataset.orderUrl);
          return;
        }
        later();
      })
      .catch(later);
  }
  function later() {
    if (Date.now() - started > 20000) {
      box.querySelector("[data-testid=confirming-slow]").hidden = false;
    }
    window.setTimeout(ask, Date.now() - started > 60000 ? 5000 : 700);
  }
  later();
}());
