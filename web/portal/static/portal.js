/* Portal maps (Leaflet, vendored). Pages work without this file: lists, forms and charts are
   server-rendered; the map only adds a view and a way to drop a pin. No inline scripts (CSP). */
(function () {
  "use strict";
  if (!window.L) { return; }

  function base(el) {
    var map = L.map(el, { scrollWheelZoom: false }).setView(
      [parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)], parseInt(el.dataset.zoom, 10));
    L.tileLayer(el.dataset.tiles, { maxZoom: 19, attribution: el.dataset.attribution }).addTo(map);
    return map;
  }

  function clusterIcon(item) {
    var size = item.count > 99 ? 44 : item.count > 9 ? 36 : 28;
    var kind = item.resolved === item.count ? "done" : "open";
    return L.divIcon({ className: "cluster " + kind, iconSize: [size, size],
      html: "<span>" + String(item.count) + "</span>" });
  }

  function overview(el) {
    var map = base(el);
    var layer = L.layerGroup().addTo(map);
    var pending = null;
    function load() {
      var b = map.getBounds();
      var url = "/api/public/map.json?zoom=" + map.getZoom() + "&bbox=" +
        [b.getSouth(), b.getWest(), b.getNorth(), b.getEast()].map(function (v) { return v.toFixed(4); }).join(",");
      if (pending) { pending.abort(); }
      pending = new AbortController();
      fetch(url, { signal: pending.signal }).then(function (r) { return r.json(); }).then(function (data) {
        layer.clearLayers();
        data.clusters.forEach(function (item) {
          var marker = L.marker([item.lat, item.lon], { icon: clusterIcon(item), keyboard: true,
            title: item.code ? item.code : item.count + " phản ánh" });
          if (item.code) {
            marker.on("click", function () { window.location.href = "/r/" + encodeURIComponent(item.code); });
          } else {
            marker.on("click", function () { map.setView([item.lat, item.lon], Math.min(map.getZoom() + 2, 18)); });
          }
          layer.addLayer(marker);
        });
        el.dataset.loaded = String(data.clusters.length);
      }).catch(function () {});
    }
    map.on("moveend", load);
    load();
  }

  function point(el) {
    var map = base(el);
    L.circle([parseFloat(el.dataset.lat), parseFloat(el.dataset.lon)], { radius: 80 }).addTo(map);
  }

  function picker(el) {
    var map = base(el);
    var lat = document.getElementById("lat"), lon = document.getElementById("long");
    var marker = null;
    function place(latlng) {
      if (marker) { marker.setLatLng(latlng); } else { marker = L.marker(latlng).addTo(map); }
    }
    if (lat.value && lon.value) { place([parseFloat(lat.value), parseFloat(lon.value)]); }
    map.on("click", function (e) {
      place(e.latlng);
      lat.value = e.latlng.lat.toFixed(6);
      lon.value = e.latlng.lng.toFixed(6);
    });
    if (navigator.geolocation) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "button ghost locate";
      button.textContent = "Dùng vị trí hiện tại của tôi";
      button.addEventListener("click", function () {
        navigator.geolocation.getCurrentPosition(function (pos) {
          var ll = [pos.coords.latitude, pos.coords.longitude];
          place(ll); map.setView(ll, 17);
          lat.value = ll[0].toFixed(6); lon.value = ll[1].toFixed(6);
        });
      });
      el.parentNode.insertBefore(button, el.nextSibling);
    }
  }

  document.querySelectorAll(".map").forEach(function (el) {
    if (el.dataset.pick) { picker(el); } else if (el.dataset.point) { point(el); } else { overview(el); }
  });
})();
