/*
 * flask-nicepay sandbox: an offline stand-in for PortOne's V1 browser SDK
 * (https://cdn.iamport.kr/v1/iamport.js) with the NICE old module.
 *
 * It defines window.IMP with init, request_pay and agency. The script gathers
 * the parameters and shows the payment window; every rule (parameters,
 * /payments/prepare, installments, which device flow applies) is applied by the
 * sandbox server, which answers what to do.
 *
 * PC: the window opens in a modal <iframe>; its result arrives by postMessage
 * and goes to the callback once. Mobile (a phone user agent and an
 * m_redirect_url): the page goes to the window, which returns to m_redirect_url
 * with the result in the query.
 *
 * Styles are set through CSSOM only, so a store page needs no 'unsafe-inline'.
 */
(function () {
  "use strict";

  const SCRIPT_PATHS = ["/v1/iamport.js", "/_sandbox/sdk/iamport.js"];
  const PHONE = /Mobi|Android|iPhone|iPad/;
  const MESSAGE_TYPE = "flask-nicepay-sandbox:result";
  const TOP = "2147483647";

  // document.currentScript only exists while the script first runs.
  const base = sandboxBase(document.currentScript);
  let merchantCode = null;
  let busy = false;

  function sandboxBase(script) {
    const tag = script || lastScriptNamed("iamport.js");
    const url = new URL(tag ? tag.src : "/", document.baseURI);
    let path = url.pathname;
    for (const suffix of SCRIPT_PATHS) {
      if (path.endsWith(suffix)) {
        path = path.slice(0, -suffix.length);
        break;
      }
    }
    return url.origin + path;
  }

  function lastScriptNamed(name) {
    const tags = Array.from(document.getElementsByTagName("script"));
    return tags.reverse().find((tag) => tag.src && tag.src.split("?")[0].endsWith(name));
  }

  function isMobile() {
    const agent = navigator.userAgent;
    // iPadOS Safari says "Macintosh"; its touch screen gives it away.
    const iPad = /Macintosh/.test(agent) && navigator.maxTouchPoints > 1;
    return PHONE.test(agent) || iPad;
  }

  function init(code) {
    merchantCode = code == null ? null : String(code);
  }

  function agency(code, tier) {
    // PortOne's init for sub-merchants; the tier changes nothing here.
    init(code);
  }

  // A page restored from the back-forward cache keeps its state: after the
  // mobile flow left it, a window is no longer open.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) {
      busy = false;
    }
  });

  function requestPay(params, callback) {
    const hasCallback = typeof callback === "function";
    if (busy) {
      console.warn("[IMP sandbox] a payment window is already open");
      return;
    }
    busy = true;
    const body = {
      merchant_code: merchantCode,
      params: params,
      mobile: isMobile(),
      user_agent: navigator.userAgent,
      page_url: location.href,
      origin: location.origin,
      has_callback: hasCallback,
    };
    const reply = hasCallback ? callback : null;
    // Two-argument then: an exception thrown by the store's own callback must
    // surface as itself, not come back as a second, failed, result.
    post("/_sandbox/sdk/open", body).then(
      (answer) => afterOpen(answer, reply),
      (error) => {
        busy = false;
        unreachable(params, reply, error);
      },
    );
  }

  function post(path, body) {
    return fetch(base + path, {
      method: "POST",
      mode: "cors",
      credentials: "omit",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    })
      .then((response) => response.json())
      .then((envelope) => {
        if (envelope.code !== 0) {
          throw new Error(envelope.message || "sandbox error");
        }
        return envelope.response;
      });
  }

  function afterOpen(answer, callback) {
    if (answer.refused) {
      busy = false;
      deliver(answer, callback);
    } else if (answer.channel === "mobile") {
      location.href = onSandbox(answer.window_url);
    } else {
      showModal(onSandbox(answer.window_url), answer.imp_uid, callback);
    }
  }

  function onSandbox(path) {
    // The server answers a path; the origin is the one this script came from.
    return new URL(path, base).href;
  }

  function deliver(answer, callback) {
    if (answer.redirect_url) {
      location.href = answer.redirect_url;
    } else if (callback) {
      callback(answer.rsp);
    } else {
      console.error("[IMP sandbox] " + answer.rsp.error_msg);
    }
  }

  function unreachable(params, callback, error) {
    // No usable answer from the server: no rule to apply, only the failure.
    const rsp = {
      success: false,
      imp_uid: null,
      merchant_uid: params && params.merchant_uid,
      error_code: null,
      error_msg: "결제 샌드박스 요청에 실패했습니다: " + error.message,
    };
    if (callback) {
      callback(rsp);
    } else {
      console.error("[IMP sandbox] " + rsp.error_msg);
    }
  }

  // The PC window --------------------------------------------------------

  function styled(tag, styles) {
    const element = document.createElement(tag);
    Object.assign(element.style, styles);
    return element;
  }

  function showModal(windowUrl, impUid, callback) {
    const overlay = styled("div", {
      position: "fixed",
      top: "0",
      right: "0",
      bottom: "0",
      left: "0",
      zIndex: TOP,
      display: "flex",
      alignItems: "center",
      justifyContent: "center",
      padding: "8px",
      boxSizing: "border-box",
      background: "rgba(0, 0, 0, 0.55)",
    });
    overlay.setAttribute("data-testid", "imp-sandbox-overlay");
    const box = styled("div", {
      width: "min(480px, 100%)",
      height: "min(720px, 100%)",
      background: "#fff",
      borderRadius: "12px",
      overflow: "hidden",
      boxShadow: "0 12px 40px rgba(0, 0, 0, 0.35)",
    });
    const frame = styled("iframe", {
      display: "block",
      width: "100%",
      height: "100%",
      border: "0",
    });
    frame.title = "결제창";
    frame.src = windowUrl;
    box.appendChild(frame);
    overlay.appendChild(box);

    const root = document.documentElement;
    const overflow = root.style.overflow;
    const origin = new URL(windowUrl).origin;
    let done = false;

    function onMessage(event) {
      const data = event.data;
      if (done || event.source !== frame.contentWindow || event.origin !== origin) {
        return;
      }
      if (!data || data.type !== MESSAGE_TYPE || data.imp_uid !== impUid) {
        return;
      }
      done = true;
      window.removeEventListener("message", onMessage);
      overlay.remove();
      root.style.overflow = overflow;
      busy = false;
      if (callback) {
        callback(data.rsp);
      }
    }

    window.addEventListener("message", onMessage);
    root.style.overflow = "hidden";
    document.body.appendChild(overlay);
    frame.focus();
  }

  window.IMP = {
    init: init,
    agency: agency,
    request_pay: requestPay,
  };
})();
