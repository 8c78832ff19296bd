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
})();
