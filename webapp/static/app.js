// mdc's few enhancements on top of htmx. Every page works without them.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");

  // --- times: UTC by default, or the browser's zone when switched (remembered) -------------
  var TZ_KEY = "mdc-times";
  function localTimes() { try { return localStorage.getItem(TZ_KEY) === "local"; } catch (e) { return false; } }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function zoneName(d) {
    var part = new Intl.DateTimeFormat(undefined, {timeZoneName: "short"}).formatToParts(d)
      .find(function (p) { return p.type === "timeZoneName"; });
    return part ? part.value : "local";
  }
  function formatMoment(d, clock) {
    if (!localTimes()) {
      var u = d.toISOString();
      return (clock ? u.slice(11, 19) : u.slice(0, 10) + " " + u.slice(11, 16)) + " UTC";
    }
    var text = clock ? pad(d.getHours()) + ":" + pad(d.getMinutes()) + ":" + pad(d.getSeconds())
      : d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + " " + pad(d.getHours()) + ":" + pad(d.getMinutes());
    return text + " " + zoneName(d);
  }
  function showTimes(scope) {
    scope.querySelectorAll("time[data-local]").forEach(function (el) {
      var iso = el.getAttribute("datetime");
      if (!iso || iso.length <= 10 || /T00:00:00Z$/.test(iso) && !el.hasAttribute("data-clock")) return; // a date stays a date
      el.textContent = formatMoment(new Date(iso), el.hasAttribute("data-clock"));
    });
    scope.querySelectorAll("time[data-local-title]").forEach(function (el) {
      var iso = el.getAttribute("datetime");
      if (iso) el.title = formatMoment(new Date(iso), false);
    });
    // The words come from the page (data-*), in its language.
    var button = document.querySelector("[data-tz-switch]");
    if (button) {
      button.hidden = false;
      button.innerHTML = "";
      var words = document.createElement("span");
      words.className = "tz-words";
      words.textContent = button.dataset.words + " ";
      button.appendChild(words);
      button.appendChild(document.createTextNode(localTimes() ? zoneName(new Date()) + " (" + button.dataset.yours + ")" : "UTC"));
      button.title = localTimes() ? button.dataset.toUtc : button.dataset.toLocal;
    }
    var note = document.querySelector("[data-tz-note]");
    if (note) {
      if (!note.dataset.utc) note.dataset.utc = note.textContent;
      note.textContent = localTimes() ? note.dataset.local : note.dataset.utc;
    }
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-tz-switch]")) return;
    try { localStorage.setItem(TZ_KEY, localTimes() ? "utc" : "local"); } catch (e) { /* private mode: this page only */ }
    showTimes(document);
  });

  // --- the banner folds into one line on a phone; open or closed survives its redraws ----------
  var BANNER_KEY = "mdc-banner-open";
  function bannerOpen() { try { return sessionStorage.getItem(BANNER_KEY) === "1"; } catch (e) { return false; } }
  function showBanner() {
    root.classList.toggle("banner-open", bannerOpen());
    document.querySelectorAll("[data-banner-toggle]").forEach(function (b) {
      b.setAttribute("aria-expanded", bannerOpen() ? "true" : "false");
    });
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-banner-toggle]")) return;
    try { sessionStorage.setItem(BANNER_KEY, bannerOpen() ? "0" : "1"); } catch (e) { /* ignore */ }
    showBanner();
  });

  // --- confirmations: the question comes from the page (data-confirm), in its language; "{value}"
  // stands for the form's field marked data-confirm-value (Clean now's number of days) ---------
  document.addEventListener("submit", function (event) {
    var form = event.target.closest && event.target.closest("form[data-confirm]");
    if (!form) return;
    var field = form.querySelector("[data-confirm-value]");
    if (!window.confirm(form.dataset.confirm.replace("{value}", field ? field.value : ""))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);

  // --- the collect form: typing a date chooses "custom" (the server also counts typed dates) ---
  document.addEventListener("input", function (event) {
    var field = event.target.closest("[data-custom-period]");
    if (!field || !field.value) return;
    var period = field.form && field.form.querySelector("select[name=period]");
    if (period && period.value !== "custom") period.value = "custom";
  });

  function enhance(scope) {
    showTimes(scope);
    showBanner();
    if (window.mdcChart) window.mdcChart(scope);
  }
  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:load", function (event) { enhance(event.target); });
})();
