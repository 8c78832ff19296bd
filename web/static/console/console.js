// Console enhancements; every page works without them. No inline scripts (the CSP forbids them).
(function () {
  "use strict";
  function initMap() {
    var el = document.getElementById("map");
    if (!el || typeof L === "undefined") return;
    var lat = parseFloat(el.dataset.lat), lon = parseFloat(el.dataset.lon);
    if (isNaN(lat) || isNaN(lon)) return;
    var map = L.map(el, { scrollWheelZoom: false }).setView([lat, lon], 16);
    L.tileLayer(el.dataset.tileUrl, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
    L.marker([lat, lon], { keyboard: false }).addTo(map);
    el.dataset.ready = "1";
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initMap);
  else initMap();
  function fold(s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").replace(/[đĐ]/g, "d").toLowerCase().trim();
  }
  // Forms that cannot be undone with one click (lock an account, reset a password, revoke a
  // token) ask first; without JavaScript they post as they are.
  document.addEventListener("submit", function (ev) {
    var message = ev.target.dataset ? ev.target.dataset.confirm : null;
    if (message && !window.confirm(message)) ev.preventDefault();
  });
  // Hotline call form: a suggested ward goes into the address.
  document.addEventListener("click", function (ev) {
    var btn = ev.target.closest ? ev.target.closest("button.ward-pick") : null;
    var address = document.getElementById("call-address");
    if (!btn || !address) return;
    var ward = btn.dataset.ward, text = address.value.replace(/[\s,]+$/, "");
    var words = text.split(/\s*,\s*/);
    var last = fold(words[words.length - 1] || "").replace(/^(phuong|p|ph|xa|x)[\s.]+/, "");
    // The ward being typed ("thuan h", "p. Thuận Hóa") is replaced, else the ward is appended.
    if (last && fold(ward).indexOf(last) >= 0) words.pop();
    words.push(ward);
    address.value = words.filter(function (w) { return w; }).join(", ");
    address.focus();
    address.dispatchEvent(new Event("input", { bubbles: true }));
  });
  // Status form: the note's label says what the note is for the status chosen, and who reads it.
  document.addEventListener("change", function (ev) {
    var label = document.getElementById("status-note-label");
    if (!label || ev.target.id !== "status-status") return;
    var option = ev.target.options[ev.target.selectedIndex];
    if (option && option.dataset.noteLabel) label.textContent = option.dataset.noteLabel;
  });
  // Drafts: a form whose session expired under it is not lost. What the form's fields hold is
  // written to this tab (sessionStorage, gone when the tab closes) only when the form is really
  // sent (the submit event: a form the browser refuses, a required field empty, never fires it,
  // nor one whose confirmation was cancelled), and given back only on the page the login returns
  // to after that expired session (/console/login?expired=1&next=<this page>). Any other page
  // drops it: a plain later visit, the confirmation of a form that went through, a refusal (the
  // server fills the form back itself).
  var DRAFT = "hub-draft:", EXPIRED = "hub-draft-expired", WRITTEN = "hub-draft-time";
  var KEEP_MS = 12 * 3600 * 1000;  // at most a session's life between the submit and the login
  // What the officer typed: text areas and text, phone and email fields with an id (the
  // hotline call form's phone, name and address too); never passwords, nor hidden fields
  // (the CSRF and one-time form tokens must be the page's own).
  var TYPED = { text: 1, tel: 1, email: 1, search: 1 };
  function typedFields(form) {
    return Array.prototype.filter.call(form.querySelectorAll("textarea[id], input[id]"), function (f) {
      return f.tagName === "TEXTAREA" || TYPED[f.type] === 1;
    });
  }
  function dropDrafts(store, keep) {
    Object.keys(store).forEach(function (key) {
      if (key.indexOf("hub-draft") === 0 && key !== keep) store.removeItem(key);
    });
  }
  function initDrafts() {
    var store;
    try { store = window.sessionStorage; } catch (e) { return; }
    if (!store) return;
    if (location.pathname === "/console/login") {  // the drafts wait for the page after the login
      var query = new URLSearchParams(location.search);
      if (query.get("expired")) {
        var next = query.get("next") || "";
        store.setItem(EXPIRED, next ? new URL(next, location.origin).pathname : "");
      }
      return;
    }
    var expiredFor = store.getItem(EXPIRED), written = parseInt(store.getItem(WRITTEN) || "0", 10);
    var prefix = DRAFT + location.pathname + "#";
    var restore = expiredFor !== null && (expiredFor === "" || expiredFor === location.pathname) &&
      Date.now() - written < KEEP_MS;
    var kept = {};
    Object.keys(store).forEach(function (key) {
      if (restore && key.indexOf(prefix) === 0) kept[key.slice(prefix.length)] = store.getItem(key);
    });
    dropDrafts(store);  // given back once at most
    if (restore) {
      document.querySelectorAll("form[method=post]").forEach(function (form) {
        var told = false;
        typedFields(form).forEach(function (field) {
          var text = kept[field.id];
          if (!text || field.value) return;
          field.value = text;
          if (!told) {  // one line per form, under the first field given back
            told = true;
            var note = document.createElement("p");
            note.className = "hint draft-restored";
            note.setAttribute("role", "status");
            note.textContent = "Đã khôi phục nội dung bạn đã nhập nhưng chưa gửi được.";
            field.insertAdjacentElement("afterend", note);
          }
          store.setItem(prefix + field.id, text);  // until this page is left
        });
      });
    }
    // After the confirmation's listener above: a cancelled confirmation sends nothing.
    document.addEventListener("submit", function (ev) {
      var form = ev.target;
      if (ev.defaultPrevented || !form || (form.method || "").toLowerCase() !== "post") return;
      dropDrafts(store);
      typedFields(form).forEach(function (field) {
        if (field.value) store.setItem(prefix + field.id, field.value);
      });
      store.setItem(WRITTEN, String(Date.now()));
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initDrafts);
  else initDrafts();
})();
