/* The hosted checkout page: hands the server-computed parameters to
 * IMP.request_pay and reports the callback to the shop, which asks PortOne.
 * No inline script is needed, so the page works under a strict CSP. */
(function () {
  "use strict";

  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    var root = document.getElementById("nicepay-checkout");
    if (!root) { return; }
    var button = document.getElementById("nicepay-pay");
    var errorBox = root.querySelector(".nicepay-error");
    // The reason as PortOne passed it on, next to the page's own sentence.
    var errorGiven = errorBox.querySelector("[data-testid=error-given]");
    var params = JSON.parse(root.dataset.params);

    function showError(message) {
      errorGiven.textContent = message || "";
      errorBox.hidden = !message;
    }

    function chosenMethod() {
      var checked = root.querySelector("input[name=pay_method]:checked");
      return checked ? checked.value : root.dataset.method;
    }

    function report(rsp, merchantUid) {
      var body = {
        imp_uid: rsp.imp_uid || null,
        merchant_uid: rsp.merchant_uid || merchantUid,
        error_code: rsp.error_code || null,
        error_msg: rsp.error_msg || null
      };
      return fetch(root.dataset.completeUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "Accept": "application/json" },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json();
      }).then(function (answer) {
        if (answer.redirect) {
          window.location.assign(answer.redirect);
          return;
        }
        showError(answer.message || rsp.error_msg || "");
        button.disabled = false;
      }).catch(function () {
        // The shop could not be reached: the confirming page keeps asking.
        window.location.assign(root.dataset.confirmUrl);
      });
    }

    if (!window.IMP) {
      // The page's own sentence, in the buyer's language.
      root.querySelector("[data-testid=sdk-missing]").hidden = false;
      return;
    }
    window.IMP.init(root.dataset.merchantCode);
    button.disabled = false;
    button.addEventListener("click", function () {
      var request = params[chosenMethod()];
      button.disabled = true;
      showError("");
      window.IMP.request_pay(request, function (rsp) {
        report(rsp || {}, request.merchant_uid);
      });
    });
  });
})();
