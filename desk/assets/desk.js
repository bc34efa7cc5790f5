// The operator desktop's few behaviours htmx does not give: keyboard
// shortcuts, running clocks, and a fresh request id per case form (so a
// form sent twice registers one case).
(function () {
  "use strict";
  function click(id) {
    var b = document.getElementById(id);
    if (!b) return false;
    // A button the event stream has just swapped in may not be wired
    // by htmx yet: wire it first (htmx skips what it already did).
    if (window.htmx) window.htmx.process(b);
    b.click();
    return true;
  }
  document.addEventListener("keydown", function (e) {
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    var k = e.key.toLowerCase();
    if ((k === "r" && click("btn-ready")) || (k === "p" && click("btn-pause")) || (k === "d" && click("btn-done"))) {
      e.preventDefault();
    }
  });
  function fmt(ms) {
    var s = Math.max(0, Math.round(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    s = s % 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (s < 10 ? "0" : "") + s;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll(".clock[data-since]").forEach(function (el) {
      var since = +el.dataset.since;
      if (!since) { el.textContent = ""; return; }
      var d = now - since, limit = +el.dataset.limit || 0;
      el.textContent = fmt(d);
      el.classList.toggle("over", limit > 0 && d > limit);
    });
    document.querySelectorAll(".countdown[data-until]").forEach(function (el) {
      el.textContent = fmt(+el.dataset.until - now);
    });
  }
  function requestIDs(root) {
    (root || document).querySelectorAll("input.request-id").forEach(function (el) {
      if (!el.value) el.value = (window.crypto && crypto.randomUUID) ? crypto.randomUUID() : String(Math.random()).slice(2);
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); requestIDs(); setInterval(tick, 1000); });
  document.addEventListener("htmx:afterSwap", function (e) { tick(); requestIDs(e.target); });
  document.addEventListener("htmx:sseMessage", function () { tick(); requestIDs(); });
  // A registered case clears its form for the next one.
  document.addEventListener("htmx:afterRequest", function (e) {
    var f = e.detail.elt;
    if (e.detail.successful && f && f.id && f.id.indexOf("case-") === 0) {
      f.reset();
      f.querySelectorAll("input.request-id").forEach(function (el) { el.value = ""; });
      requestIDs(f);
    }
  });
  // htmx does not swap 4xx/5xx answers by default; the desktop shows their message.
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (e.detail.xhr.status >= 400 && e.detail.xhr.status < 600 && e.detail.xhr.status !== 401) {
      e.detail.shouldSwap = true;
      e.detail.isError = false;
      e.detail.target = document.getElementById("result") || e.detail.target;
    }
  });
})();
