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
  // Drafts: what an officer types in a console form is kept in this tab (sessionStorage, gone
  // when the tab closes) until it is sent, so a session that expired under a long reply does not
  // lose it: the POST goes to the login (?expired=1), and after the login the page comes back
  // with the text in place. A submit that reached the server (done, or refused with the text
  // filled back) clears it.
  var SENT = "hub-draft-sent:", DRAFT = "hub-draft:", EXPIRED = "hub-draft-expired";
  function initDrafts() {
    if (!window.sessionStorage) return;
    var store = window.sessionStorage;
    if (location.pathname === "/console/login") {
      if (new URLSearchParams(location.search).get("expired")) store.setItem(EXPIRED, "1");
      return;
    }
    var expired = store.getItem(EXPIRED);
    store.removeItem(EXPIRED);
    Object.keys(store).forEach(function (key) {
      if (key.indexOf(SENT) !== 0) return;
      if (!expired) {
        var page = key.slice(SENT.length);
        store.getItem(key).split(" ").forEach(function (id) { store.removeItem(DRAFT + page + "#" + id); });
      }
      store.removeItem(key);
    });
    var prefix = DRAFT + location.pathname + "#";
    // What the officer typed: text areas and text, phone and email fields with an id (the
    // hotline call form's phone, name and address too); never passwords, nor hidden fields
    // (the CSRF and one-time form tokens must be the page's own).
    var TYPED = { text: 1, tel: 1, email: 1, search: 1 };
    document.querySelectorAll("form[method=post]").forEach(function (form) {
      var fields = Array.prototype.filter.call(form.querySelectorAll("textarea[id], input[id]"), function (f) {
        return f.tagName === "TEXTAREA" || TYPED[f.type] === 1;
      });
      if (!fields.length) return;
      var told = false;
      fields.forEach(function (field) {
        var kept = store.getItem(prefix + field.id);
        if (kept && !field.value) {
          field.value = kept;
          if (!told) {  // one line per form, under the first field given back
            told = true;
            var note = document.createElement("p");
            note.className = "hint draft-restored";
            note.setAttribute("role", "status");
            note.textContent = "Đã khôi phục nội dung bạn đã nhập nhưng chưa gửi được.";
            field.insertAdjacentElement("afterend", note);
          }
        }
        field.addEventListener("input", function () {
          if (field.value) store.setItem(prefix + field.id, field.value);
          else store.removeItem(prefix + field.id);
        });
      });
      form.addEventListener("submit", function () {
        var ids = fields.map(function (f) { return f.id; });
        store.setItem(SENT + location.pathname, ids.join(" "));
      });
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", initDrafts);
  else initDrafts();
})();
