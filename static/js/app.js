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

  // Keep <details> open/closed as the user left them when htmx swaps a fragment in, or swaps rows
  // out of band (the live page's poll replaces the rows that changed).
  var detailsState = null;
  function remember(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.tagName === "DETAILS" && root.id) detailsState[root.id] = root.open;
    root.querySelectorAll("details[id]").forEach(function (el) {
      detailsState[el.id] = el.open;
    });
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    detailsState = {};
    remember(event.detail.target);
  });
  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    if (!detailsState) detailsState = {};
    remember(event.detail.target);
    dropOldCopies(event.detail.fragment);
  });

  // The live page's poll inserts each task row (timeline bar) that changed after the row it now
  // follows: the row's old copy, wherever it was, goes first. So a row sent twice (a write that
  // committed while a poll read) is never shown twice.
  function dropOldCopies(fragment) {
    if (!fragment || !fragment.querySelectorAll) return;
    ["data-row", "data-bar"].forEach(function (name) {
      fragment.querySelectorAll("[" + name + "]").forEach(function (incoming) {
        var key = incoming.getAttribute(name);
        if (!/^k[0-9a-f]+$/.test(key)) return;
        document.querySelectorAll("[" + name + "=" + key + "]").forEach(function (old) {
          remember(old);
          old.remove();
        });
      });
    });
  }
  document.addEventListener("htmx:afterSettle", function () {
    layoutTimeline();
    markCriticalBars();
    if (!detailsState) return;
    Object.keys(detailsState).forEach(function (id) {
      var el = document.getElementById(id);
      if (el && el.tagName === "DETAILS") el.open = detailsState[id];
    });
    detailsState = null;
  });

  // The live page's timeline: each bar is placed as a share of the run's span. A poll sends only
  // the bars that changed, and the span (#timeline-span) when it moved: every bar is placed again
  // from its own start and end, as executions/charts.py execution_timeline places them.
  function layoutTimeline() {
    var span = document.getElementById("timeline-span");
    if (!span) return;
    var lo = Number(span.getAttribute("data-start-ms"));
    var hi = Number(span.getAttribute("data-end-ms"));
    if (!isFinite(lo) || !isFinite(hi)) return;
    var width = Math.max(1, hi - lo);
    document.querySelectorAll("#timeline-rows rect[data-start-ms]").forEach(function (bar) {
      var start = Number(bar.getAttribute("data-start-ms"));
      var end = Number(bar.getAttribute("data-end-ms"));
      if (!isFinite(start) || !isFinite(end)) return;
      var left = (start - lo) / width * 100;
      var share = Math.max(0.4, Math.min(100 - left, (end - start) / width * 100));
      bar.setAttribute("x", left.toFixed(3) + "%");
      bar.setAttribute("width", share.toFixed(3) + "%");
    });
  }

  // The critical path (#critical-path, sent again by every poll that changed something) is marked
  // on the timeline too: the bars a poll did not send keep their old mark otherwise.
  function markCriticalBars() {
    var list = document.getElementById("critical-path");
    if (!list) return;
    var keys = {};
    list.querySelectorAll("[data-key]").forEach(function (item) {
      keys[item.getAttribute("data-key")] = true;
    });
    document.querySelectorAll("#timeline-rows [data-bar]").forEach(function (row) {
      var bar = row.querySelector("rect");
      if (bar) bar.classList.toggle("tl-critical", keys[row.getAttribute("data-bar")] === true);
    });
  }

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
