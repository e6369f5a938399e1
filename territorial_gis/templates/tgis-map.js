/* territorial-gis map runtime, inlined into every map (MIT, part of territorial-gis).
 *
 * Builds Leaflet layers from the compact JSON rows written by territorial_gis.maps, formats
 * numbers with the Babel symbols of the map's language (window.TGIS), keeps the drawing order
 * of the layers (MRA above FRA, points above areas) when layers are switched on and off, shows
 * a legend section for every visible layer, groups dense point layers into class-coloured
 * clusters, shows place names by importance as the reader zooms in, and says when background
 * tiles cannot load.
 */
var tgisLayers = {};

function tgisEsc(s) {
  return String(s).replace(/[&<>"']/g, function (c) {
    return {'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'}[c];
  });
}

/* a number with d decimals and the locale's symbols (values arrive rounded by Python) */
function tgisNum(v, d) {
  var s = Math.abs(v).toFixed(d), parts = s.split('.'), i = parts[0], out = '';
  while (i.length > 3) { out = TGIS.group + i.slice(-3) + out; i = i.slice(0, -3); }
  out = i + out;
  if (d > 0) out += TGIS.decimal + parts[1];
  return (v < 0 && Number(s) !== 0 ? '-' : '') + out;
}

function tgisDecimals(v) {
  var s = String(v), k = s.indexOf('.');
  return k < 0 ? 0 : s.length - k - 1;
}

function tgisFmt(f, v) {
  if (v === null || v === undefined) return f.none || TGIS.unknown;
  if (f.fmt === 'min') {
    if (v < 0) return f.lookup[-v - 1];
    return tgisNum(v, Math.max(1, tgisDecimals(v))) + TGIS.min;
  }
  if (f.lookup) return f.lookup[v];
  if (f.fmt === 'int') return tgisNum(Math.round(v), 0);
  if (f.fmt === 'pct') return TGIS.pctBefore + tgisNum(100 * v, f.dec || 0) + TGIS.pctAfter;
  if (f.fmt === 'num') return tgisNum(v, f.dec === undefined ? 1 : f.dec);
  return String(v);
}

function tgisPopup(d, r) {
  var h = '', i0 = 0;
  if (d.titled) {
    h += '<div class="tgis-popup-title">' + tgisEsc(tgisFmt(d.fields[0], r[3])) + '</div>';
    i0 = 1;
  }
  h += '<table class="tgis-popup">';
  for (var i = i0; i < d.fields.length; i++) {
    var v = r[3 + i], f = d.fields[i];
    if ((v === null || v === undefined) && f.skipNull) continue;
    h += '<tr><th>' + tgisEsc(f.label) + '</th><td>' + tgisEsc(tgisFmt(f, v)) + '</td></tr>';
  }
  h += '</table>';
  if (d.note) h += '<div class="tgis-popup-note">' + tgisEsc(d.note) + '</div>';
  return h;
}

function tgisDec(a, s, from) {
  var out = [], la = from ? from[0] : 0, lo = from ? from[1] : 0;
  for (var i = 0; i < a.length; i += 2) { la += a[i]; lo += a[i + 1]; out.push([la / s, lo / s]); }
  if (from) { from[0] = la; from[1] = lo; }
  return out;
}

/* non-interactive layers (base map, labels) live in panes of their own */
var TGIS_PANES = {'tgis-base': 350, 'tgis-labels': 610};
function tgisPaneOptions(map, name) {
  if (!name) return {};
  if (!map.getPane(name)) {
    var p = map.createPane(name);
    p.style.zIndex = TGIS_PANES[name] || 400;
    p.style.pointerEvents = 'none';
  }
  map._tgisRenderers = map._tgisRenderers || {};
  if (!map._tgisRenderers[name]) map._tgisRenderers[name] = L.canvas({pane: name, padding: 0.3});
  return {pane: name, renderer: map._tgisRenderers[name]};
}

function tgisFeature(map, d, r) {
  var s = d.styles[r[1]], o = tgisPaneOptions(map, d.pane), lyr;
  o.interactive = d.interactive !== false;
  if (d.kind === 'circle') {
    lyr = L.circleMarker(r[0], L.extend(o, {radius: r[2], color: s.color, weight: s.weight,
      fillColor: s.fill, fillOpacity: s.fillOpacity, opacity: s.opacity}));
  } else if (d.kind === 'symbol') {
    lyr = L.marker(r[0], {interactive: o.interactive, icon: L.divIcon({className: 'tgis-symbol ' + s.cls,
      html: '<span style="color:' + s.fill + ';font-size:' + r[2] + 'px">' + s.symbol + '</span>',
      iconSize: [r[2], r[2]], iconAnchor: [r[2] / 2, r[2] / 2]})});
  } else if (d.kind === 'label') {
    lyr = L.marker(r[0], {interactive: false, keyboard: false, pane: 'tgis-labels',
      icon: L.divIcon({className: 'tgis-label tgis-label-' + s.cls, iconSize: null,
                       html: '<span>' + tgisEsc(r[3]) + '</span>'})});
    lyr._tgisRank = r[2];
  } else if (d.kind === 'line') {
    var at = d.chain ? [0, 0] : null;
    lyr = L.polyline(r[0].map(function (p) { return tgisDec(p, d.scale, at); }),
      L.extend(o, {color: s.color, weight: r[2], opacity: s.opacity, dashArray: s.dash || null,
                   lineCap: s.cap || 'round'}));
  } else {
    lyr = L.polygon(r[0].map(function (p) { return p.map(function (q) { return tgisDec(q, d.scale); }); }),
      L.extend(o, {color: s.color, weight: s.weight, fillColor: s.fill, fill: s.fillOpacity > 0,
                   fillOpacity: s.fillOpacity, opacity: s.opacity, dashArray: s.dash || null}));
  }
  lyr._tgisRow = r;
  if (d.fields.length && d.kind !== 'label') {
    lyr.bindPopup(function (l) { return tgisPopup(d, l._tgisRow); }, {maxWidth: 380});
  }
  return lyr;
}

function tgisLayer(map, d) {
  var g = L.featureGroup(), all = [];
  if (!map.getPane('tgis-labels')) tgisPaneOptions(map, 'tgis-labels');
  for (var i = 0; i < d.rows.length; i++) all.push(tgisFeature(map, d, d.rows[i]));
  g._tgisData = d;
  g._tgisAll = all;
  tgisLayers[d.name] = g;
  if (d.kind === 'circle' && d.clusterAbove && all.length > d.clusterAbove) {
    tgisClusters(map, g, d);
  } else {
    for (var k = 0; k < all.length; k++) g.addLayer(all[k]);
  }
  if (d.kind === 'label') tgisLabelZoom(map, g);
  return g;
}

/* keep the drawing order of the canvas layers when one is switched back on */
function tgisRestack(map) {
  var names = Object.keys(tgisLayers).filter(function (n) {
    var g = tgisLayers[n];
    return map.hasLayer(g) && !g._tgisData.pane && g._tgisData.kind !== 'symbol'
      && g._tgisData.kind !== 'label';
  });
  names.sort(function (a, b) { return tgisLayers[a]._tgisData.order - tgisLayers[b]._tgisData.order; });
  names.forEach(function (n) { tgisLayers[n].bringToFront(); });
}

/* dense point layers: the points in view when few, else class-coloured groups */
function tgisClusters(map, g, d) {
  var all = g._tgisAll, cell = 46;
  function group(members) {
    var n = members.length, lat = 0, lon = 0, counts = {}, b = L.latLngBounds([]);
    members.forEach(function (m) {
      var ll = m.getLatLng(); lat += ll.lat; lon += ll.lng; b.extend(ll);
      counts[m._tgisRow[1]] = (counts[m._tgisRow[1]] || 0) + 1;
    });
    var stops = [], acc = 0;
    d.clusterOrder.forEach(function (k) {
      if (!counts[k]) return;
      var a0 = 100 * acc / n; acc += counts[k];
      stops.push(d.styles[k].fill + ' ' + a0.toFixed(1) + '% ' + (100 * acc / n).toFixed(1) + '%');
    });
    var size = Math.round(22 + 8 * Math.log10(n));
    var m = L.marker([lat / n, lon / n], {icon: L.divIcon({className: 'tgis-cluster',
      iconSize: [size, size], html: '<div style="width:' + size + 'px;height:' + size +
        'px;background:conic-gradient(' + stops.join(',') + ')"><span>' + tgisNum(n, 0) +
        '</span></div>'})});
    m.on('click', function () { map.fitBounds(b.pad(0.1)); });
    m._tgisCluster = counts;
    return m;
  }
  function update() {
    if (!map.hasLayer(g)) return;
    var view = map.getBounds().pad(0.25), inView = [];
    for (var i = 0; i < all.length; i++) if (view.contains(all[i].getLatLng())) inView.push(all[i]);
    g.clearLayers();
    if (inView.length <= d.clusterAbove) {
      inView.forEach(function (m) { g.addLayer(m); });
      g._tgisClustered = false;
      return;
    }
    var z = map.getZoom(), bins = {};
    inView.forEach(function (m) {
      var p = map.project(m.getLatLng(), z), k = Math.floor(p.x / cell) + ':' + Math.floor(p.y / cell);
      (bins[k] = bins[k] || []).push(m);
    });
    Object.keys(bins).forEach(function (k) {
      g.addLayer(bins[k].length === 1 ? bins[k][0] : group(bins[k]));
    });
    g._tgisClustered = true;
  }
  g.on('add', function () { setTimeout(update, 0); });
  map.on('moveend', update);
  map.whenReady(update);
}

/* place names: the most important first, more as the reader zooms in, none on top of another */
function tgisLabelZoom(map, g) {
  function update() {
    var z0 = map._tgisZoom0 === undefined ? map.getZoom() : map._tgisZoom0;
    var keep = TGIS.labelsAtStart * Math.pow(2, Math.max(0, map.getZoom() - z0) * 1.5);
    var placed = [];
    g._tgisAll.slice().sort(function (a, b) { return a._tgisRank - b._tgisRank; }).forEach(function (l) {
      var el = l.getElement && l.getElement();
      if (!el) return;
      el.style.display = '';
      var r = el.firstChild ? el.firstChild.getBoundingClientRect() : el.getBoundingClientRect();
      var clash = placed.some(function (p) {
        return r.left < p.right && p.left < r.right && r.top < p.bottom && p.top < r.bottom;
      });
      if (l._tgisRank >= keep || clash) { el.style.display = 'none'; return; }
      placed.push(r);
    });
  }
  map.on('zoomend moveend', update);
  g.on('add', function () { setTimeout(update, 0); });
  map.whenReady(function () { setTimeout(update, 0); setTimeout(update, 400); });
}

function tgisFind(name, key) {
  // the feature of layer `name` whose title or first or second field reads `key`
  var g = tgisLayers[name], d = g._tgisData, found = null, k = String(key);
  (g._tgisAll || g.getLayers()).forEach(function (l) {
    for (var i = 0; i < Math.min(2, d.fields.length); i++) {
      if (String(tgisFmt(d.fields[i], l._tgisRow[3 + i])) === k) found = found || l;
    }
  });
  return found;
}

/* legend: one section per layer, shown while the layer is on the map */
function tgisLegendSync(map, overlays) {
  function sync() {
    var els = document.querySelectorAll('#tgis-legend [data-layer]');
    for (var i = 0; i < els.length; i++) {
      var l = overlays[els[i].getAttribute('data-layer')];
      els[i].style.display = (l && map.hasLayer(l)) ? '' : 'none';
    }
  }
  map.on('overlayadd', function (e) { if (e.layer && e.layer._tgisData) tgisRestack(map); sync(); });
  map.on('overlayremove', sync);
  sync();
}

/* the layer control in sections: g.groups maps a layer name to its section title, g.order lists
   the sections (others follow in order of first appearance). Leaflet rebuilds the list whenever a
   layer is added or removed other than by a click in it: the sections are put back each time. */
function tgisGroupControl(control, g) {
  if (!g.groups || !Object.keys(g.groups).length) return;
  function apply() {
    var box = control._overlaysList;
    if (!box) return;
    var labels = Array.prototype.slice.call(box.querySelectorAll(':scope > label'));
    Array.prototype.slice.call(box.querySelectorAll(':scope > .tgis-group')).forEach(function (h) { h.remove(); });
    var order = (g.order || []).slice(), byGroup = {};
    order.forEach(function (name) { byGroup[name] = []; });
    labels.forEach(function (l) {
      var name = g.groups[l.innerText.trim()] || '';
      if (!(name in byGroup)) { byGroup[name] = []; order.push(name); }
      byGroup[name].push(l);
    });
    order.filter(function (name) { return byGroup[name].length; }).forEach(function (name) {
      if (name) {
        var h = document.createElement('div');
        h.className = 'tgis-group';
        h.textContent = name;
        box.appendChild(h);
      }
      byGroup[name].forEach(function (l) { box.appendChild(l); });
    });
  }
  var update = control._update;
  control._update = function () { var r = update.apply(this, arguments); apply(); return r; };
  apply();
}

/* background tiles are optional: say so once when they cannot load */
function tgisWatchTiles(map, tiles, text) {
  var shown = false;
  tiles.on('tileerror', function () {
    if (shown) return;
    shown = true;
    var c = L.control({position: 'bottomleft'});
    c.onAdd = function () {
      var div = L.DomUtil.create('div', 'tgis-notice leaflet-control');
      div.id = 'tgis-tile-notice';
      div.textContent = text;
      return div;
    };
    c.addTo(map);
  });
}
