// The price chart's crosshair, readout and zoom (drag, wheel, keyboard). The chart itself is
// server-drawn SVG with its slots' figures as JSON beside it; without this script it is a picture.
// The readout's words and number format come with the figures, in the page's language.
(function () {
  "use strict";
  var VIEW_W = 960;
  var locale = "en";
  // One zoom at a time: htmx queues a second request on #chart and resolves its promise before
  // anything is swapped, and a zoom is worked out from the chart on screen. A + or − pressed
  // meanwhile is kept (the last one) and replayed on the chart that comes back.
  var busy = false, queuedKey = null;
  // Chart requests in flight (zooms, range links, the From/to form), and how many times Back or
  // Forward came while they were: a chart that arrives after that is not the one asked for.
  var loading = new Set(), wentAway = 0;
  // When htmx fetches a page for Back/Forward (not in its cache), until it is shown: the chart
  // on screen is about to go, so it starts nothing (0 when not fetching).
  var restoring = 0;
  function isRestoring() { return restoring > 0 && Date.now() - restoring < 10000; }
  // Charts already set up. Not a data- attribute: htmx's history copies keep attributes, and a
  // chart restored by Back must be set up again.
  var ready = new WeakSet();

  function fmt(value, digits) {
    return value === null || value === undefined ? "–"
      : Number(value).toLocaleString(locale, {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }
  function stamp(epoch) {
    var iso = new Date(epoch * 1000).toISOString();
    return iso.slice(0, 10) + " " + iso.slice(11, 16) + " UTC";
  }
  function isoMinute(epoch) { return new Date(epoch * 1000).toISOString().slice(0, 16) + "Z"; }

  function setup(box) {
    if (ready.has(box)) return;
    ready.add(box);
    var f = JSON.parse(box.querySelector(".chart-figures").textContent);
    var w = f.words;
    locale = f.locale || "en";
    var svg = box.querySelector("svg"), readout = box.querySelector(".readout");
    var cross = svg.querySelector(".crosshair"), zoomBox = svg.querySelector(".zoom-box");
    var n = f.t.length, at = null, dragFrom = null, wheelTimer = null;
    var slotW = (f.right - f.left) * VIEW_W / n;

    function slotAt(clientX) {
      var r = svg.getBoundingClientRect(), frac = (clientX - r.left) / r.width;
      return Math.max(0, Math.min(n - 1, Math.floor((frac - f.left) / (f.right - f.left) * n)));
    }
    function xOf(i) { return f.left * VIEW_W + (i + 0.5) * slotW; }
    function show(i) {
      at = i;
      cross.setAttribute("x1", xOf(i)); cross.setAttribute("x2", xOf(i)); cross.setAttribute("visibility", "visible");
      var d = f.d, text;
      if (f.n[i] === 1) {
        text = stamp(f.t[i]) + " · " + w.o + " " + fmt(f.o[i], d) + " " + w.h + " " + fmt(f.h[i], d) + " " + w.l + " "
          + fmt(f.l[i], d) + " " + w.c + " " + fmt(f.c[i], d) + " · " + w.vol + " " + fmt(f.v[i], 0);
      } else {
        text = stamp(f.t[i]) + " → " + stamp(f.e[i]) + " · " + fmt(f.n[i], 0) + " " + w.bars + " · "
          + (f.h[i] === null ? "" : w.h + " " + fmt(f.h[i], d) + " " + w.l + " " + fmt(f.l[i], d) + " · ")
          + w.close + " " + fmt(f.lo[i], d) + "–" + fmt(f.hi[i], d) + " · " + w.vol + " " + fmt(f.v[i], 0);
      }
      readout.textContent = text;
      readout.hidden = false;
    }
    function hide() { cross.setAttribute("visibility", "hidden"); readout.hidden = true; }
    function go(start, end) {
      if (end <= start || busy || isRestoring()) return;
      // The chart's own URL may carry a range already: replace it, never repeat it.
      var target = new URL(f.url, window.location.href);
      target.searchParams.delete("range");
      target.searchParams.set("start", isoMinute(start));
      target.searchParams.set("end", isoMinute(end));
      var url = target.pathname + target.search;
      if (url === window.location.pathname + window.location.search) return;  // zoomed in all the way
      var hadFocus = box.contains(document.activeElement), asked = wentAway;
      busy = true;
      // htmx pushes the address, as for the range links: its history then knows every chart,
      // and Back and Forward show the one their address names.
      window.htmx.ajax("GET", url, {source: box, target: "#chart", swap: "outerHTML", push: url}).then(function () {
        busy = false;
        var key = queuedKey;
        queuedKey = null;
        if (asked !== wentAway) return;  // Back came first: this answer was dropped
        // The chart was replaced: give the new one the keyboard (unless the reader went
        // elsewhere meanwhile), so + and − keep zooming (htmx:afterSwap, below, set it up).
        var keep = hadFocus && document.activeElement === document.body;
        var fresh = keep && document.querySelector("#chart [data-chart]");
        if (fresh) fresh.focus();
        if (fresh && key) fresh.dispatchEvent(new KeyboardEvent("keydown", {key: key, bubbles: true}));
      }, function () { busy = false; queuedKey = null; });
    }
    function zoomTo(a, b) {
      if (Math.min(a, b) === 0 && Math.max(a, b) === n - 1) return;  // the whole chart: nothing to zoom into
      go(f.t[Math.min(a, b)], f.e[Math.max(a, b)] + f.step);
    }
    function zoom(i, factor) {
      if (factor < 1) {  // in: keep the slots around i
        var half = Math.max(2, Math.round(n * factor / 2));
        zoomTo(Math.max(0, i - half), Math.min(n - 1, i + half));
      } else {  // out: twice the time around the middle (the server keeps it within the series)
        var start = f.t[0], end = f.e[n - 1] + f.step, grow = (end - start) * (factor - 1) / 2;
        go(Math.floor(start - grow), Math.ceil(end + grow));
      }
    }

    svg.addEventListener("pointermove", function (e) {
      var i = slotAt(e.clientX);
      show(i);
      if (dragFrom !== null) {
        var a = Math.min(dragFrom, i), b = Math.max(dragFrom, i);
        zoomBox.setAttribute("x", xOf(a) - slotW / 2); zoomBox.setAttribute("width", (b - a + 1) * slotW);
        zoomBox.setAttribute("visibility", "visible");
      }
    });
    svg.addEventListener("pointerleave", function () { if (dragFrom === null) hide(); });
    svg.addEventListener("pointerdown", function (e) {
      if (e.button !== 0) return;
      dragFrom = slotAt(e.clientX);
      svg.setPointerCapture(e.pointerId);
    });
    svg.addEventListener("pointerup", function (e) {
      if (dragFrom === null) return;
      var to = slotAt(e.clientX), from = dragFrom;
      dragFrom = null;
      zoomBox.setAttribute("visibility", "hidden");
      if (Math.abs(to - from) >= 1) zoomTo(from, to);
    });
    svg.addEventListener("wheel", function (e) {
      // Ctrl (or Cmd) + wheel zooms, as on maps; a plain wheel keeps scrolling the page.
      if (!(e.ctrlKey || e.metaKey)) return;
      e.preventDefault();
      var i = slotAt(e.clientX), factor = e.deltaY < 0 ? 0.5 : 2;
      clearTimeout(wheelTimer);
      wheelTimer = setTimeout(function () { zoom(i, factor); }, 200);
    }, {passive: false});
    box.addEventListener("keydown", function (e) {
      var i = at === null ? n - 1 : at;
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        show(Math.max(0, Math.min(n - 1, i + (e.key === "ArrowLeft" ? -1 : 1) * (e.shiftKey ? 10 : 1))));
      } else if (busy && ["+", "=", "-", "_"].indexOf(e.key) >= 0) { queuedKey = e.key; }
      else if (e.key === "+" || e.key === "=") { zoom(i, 0.5); } else if (e.key === "-" || e.key === "_") { zoom(i, 2); }
      else if (e.key === "Home" || e.key === "End") { show(e.key === "Home" ? 0 : n - 1); }
      else return;
      e.preventDefault();
    });
    box.addEventListener("focus", function () { show(at === null ? n - 1 : at); });
    box.addEventListener("blur", hide);
  }

  document.addEventListener("htmx:beforeRequest", function (e) {
    loading.forEach(function (elt) { if (!elt.isConnected) loading.delete(elt); });  // swapped out, done
    if (!e.detail.target || e.detail.target.id !== "chart") return;
    if (isRestoring()) { e.preventDefault(); return; }  // a link or the form while Back loads
    loading.add(e.detail.elt);
  });
  document.addEventListener("htmx:afterRequest", function (e) { loading.delete(e.detail.elt); });
  // Back or Forward while a chart loads: htmx shows the page of that address, and the late
  // answer would land in a chart no longer on screen and push its address over it. Drop it.
  function dropLoading() {
    wentAway += 1;
    loading.forEach(function (elt) {  // htmx listens on body; the element may be gone from the page
      document.body.dispatchEvent(new CustomEvent("htmx:abort", {detail: {elt: elt}}));
    });
    loading.clear();
  }
  window.addEventListener("popstate", dropLoading);
  document.addEventListener("htmx:historyCacheMiss", function () { restoring = Date.now(); dropLoading(); });
  ["htmx:historyRestore", "htmx:historyCacheMissLoadError"].forEach(function (name) {
    document.addEventListener(name, function () { restoring = 0; dropLoading(); });
  });
  // htmx keeps a copy of the page for Back: without the pointer's readout, which nobody points at then.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("#chart .readout").forEach(function (r) { r.hidden = true; });
    document.querySelectorAll("#chart .crosshair").forEach(function (c) { c.setAttribute("visibility", "hidden"); });
  });

  // htmx fires htmx:load (which sets charts up, app.js) only at its settle step, ~20 ms after
  // the swap: a key or pointer in between would find a chart that does not listen yet.
  document.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("[data-chart]").forEach(setup);
  });

  window.mdcChart = function (scope) {
    (scope.querySelectorAll ? scope : document).querySelectorAll("[data-chart]").forEach(setup);
    if (scope.matches && scope.matches("[data-chart]")) setup(scope);
  };
})();
