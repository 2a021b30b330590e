/*
 * flask-nicepay sandbox: the payment window's buttons.
 *
 * A button sends the buyer's choice to /_sandbox/sdk/complete, which applies it
 * and answers what the store page receives. The result then goes to the store:
 * PC windows postMessage it to the page that framed them (only to its origin),
 * mobile windows send the whole page to m_redirect_url.
 */
(function () {
  "use strict";

  const root = document.getElementById("imp-window");
  const config = root.dataset;
  const buttons = Array.from(root.querySelectorAll("button[data-outcome]"));
  const status = root.querySelector("[data-testid=status]");

  function valueOf(id) {
    const field = document.getElementById(id);
    return field && field.value !== "" ? field.value : null;
  }

  function choice(outcome) {
    const quota = valueOf("quota-select");
    return {
      imp_uid: config.impUid,
      token: config.token,
      outcome: outcome,
      card_number: valueOf("card-select"),
      card_quota: quota === null ? null : Number(quota),
      vbank_code: valueOf("bank-select"),
    };
  }

  function setBusy(busy) {
    buttons.forEach((button) => {
      button.disabled = busy;
    });
    status.textContent = busy ? config.textWorking : "";
  }

  function complete(outcome) {
    setBusy(true);
    fetch(config.completeUrl, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(choice(outcome)),
    })
      .then((response) => response.json())
      .then((envelope) => {
        if (envelope.code !== 0) {
          throw new Error(envelope.message);
        }
        deliver(envelope.response);
      })
      .catch((error) => {
        setBusy(false);
        status.textContent = config.textFailed + ": " + error.message;
      });
  }

  function deliver(result) {
    if (result.redirect_url) {
      location.replace(result.redirect_url);
      return;
    }
    status.textContent = config.textDone;
    const message = { type: config.messageType, imp_uid: config.impUid, rsp: result.rsp };
    window.parent.postMessage(message, config.origin);
  }

  buttons.forEach((button) => {
    button.addEventListener("click", () => complete(button.dataset.outcome));
  });
  root.querySelector("form").addEventListener("submit", (event) => event.preventDefault());
})();
