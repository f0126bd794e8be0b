/* 听风: small helpers every signed-in page loads. No inline script anywhere (the CSP forbids
   it): data comes from data-* attributes and the JSON API. Text is only ever set with
   textContent, never innerHTML. */
"use strict";

window.tingfeng = (function () {
  const meta = document.querySelector('meta[name="csrf-token"]');
  const csrf = meta ? meta.content : "";

  function getJSON(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      });
  }

  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, function (_, k) { return k in values ? values[k] : ""; });
  }

  return {csrf: csrf, getJSON: getJSON, fill: fill};
})();

/* Live query check on the monitor form: the error's position is marked in a copy of the
   query as the user types. */
(function () {
  const input = document.getElementById("query");
  const out = document.getElementById("query-check");
  if (!input || !out) { return; }
  let timer = null;
  let seq = 0;

  function show(result, text) {
    out.replaceChildren();
    out.className = "check " + (result.ok ? "ok" : "bad");
    input.setAttribute("aria-invalid", result.ok ? "false" : "true");
    if (result.ok) {
      out.textContent = tingfeng.fill(out.dataset.ok, {keywords: result.keywords.join(" | ")});
      out.dataset.state = "ok";
      return;
    }
    out.dataset.state = "error";
    const msg = document.createElement("div");
    msg.className = "message";
    msg.textContent = result.position === null
      ? result.error
      : tingfeng.fill(out.dataset.at, {position: result.position + 1, error: result.error});
    out.appendChild(msg);
    if (result.position !== null) {
      out.dataset.position = String(result.position);
      const shown = document.createElement("code");
      shown.className = "where";
      const pos = Math.min(result.position, text.length);
      const mark = document.createElement("mark");
      mark.textContent = text.slice(pos, pos + 1) || "␣";
      shown.append(text.slice(0, pos), mark, text.slice(pos + 1));
      out.appendChild(shown);
    }
  }

  function check() {
    const text = input.value;
    const mine = ++seq;
    if (!text.trim()) { out.replaceChildren(); out.className = "check"; delete out.dataset.state; return; }
    tingfeng.getJSON(input.dataset.checkUrl + "?q=" + encodeURIComponent(text))
      .then(function (result) { if (mine === seq) { show(result, text); } })
      .catch(function () { /* the server validates again on save */ });
  }

  input.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(check, 200);
  });
  check();
})();
