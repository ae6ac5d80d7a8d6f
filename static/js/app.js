// Small progressive enhancements; the pages work without them. No inline scripts (CSP script-src 'self').
(function () {
  "use strict";

  // Polls pause while the tab is hidden. (A trigger filter expression would need eval, which the
  // Content-Security-Policy forbids; htmx:confirm fires before every request and can veto it.)
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (document.visibilityState !== "visible" && elt && elt.hasAttribute("data-poll-visible-only")) {
      event.preventDefault();
    }
  });

  // Keep <details> open/closed as the user left them when htmx swaps a fragment in.
  var detailsState = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    detailsState = {};
    if (!target) return;
    target.querySelectorAll("details[id]").forEach(function (el) {
      detailsState[el.id] = el.open;
    });
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!detailsState) return;
    Object.keys(detailsState).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.tagName === "DETAILS") el.open = detailsState[id];
    });
    detailsState = null;
  });

  // Elapsed time of running executions ticks every second (the server sends start → now at render).
  function formatDuration(ms) {
    if (ms < 0) ms = 0;
    if (ms < 1000) return ms + " ms";
    var s = Math.floor(ms / 1000);
    if (s < 60) return s + "s";
    var m = Math.floor(s / 60); s = s % 60;
    if (m < 60) return m + "m " + String(s).padStart(2, "0") + "s";
    var h = Math.floor(m / 60); m = m % 60;
    if (h < 24) return h + "h " + String(m).padStart(2, "0") + "m";
    var d = Math.floor(h / 24); h = h % 24;
    return d + "d " + String(h).padStart(2, "0") + "h";
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-elapsed-since]").forEach(function (el) {
      var start = parseInt(el.getAttribute("data-elapsed-since"), 10);
      if (!isNaN(start)) el.textContent = formatDuration(now - start);
    });
  }
  setInterval(tick, 1000);
})();
