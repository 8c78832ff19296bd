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
})();
