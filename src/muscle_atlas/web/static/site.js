/* muscle-atlas: menu, lightbox, search, sortable and paged tables, side switch, 3D viewer. Progressive enhancement, no dependencies. */
(function () {
'use strict';
var d = document, html = d.documentElement, root = d.body.getAttribute('data-root') || '';
function $(s, c) { return (c || d).querySelector(s); }
function $$(s, c) { return [].slice.call((c || d).querySelectorAll(s)); }
function el(tag, attrs, text) {
  var e = d.createElement(tag);
  for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
  if (text != null) e.textContent = text;
  return e;
}
function on(t, ev, fn, o) { t.addEventListener(ev, fn, o); }
function play(v) { var p = v.play(); if (p && p.catch) p.catch(function () {}); }
html.classList.add('js');

/* Narrow-screen menu */
function initMenu() {
  var nav = $('.site-nav'), btn = nav && $('.nav-toggle', nav);
  if (!btn) return;
  function set(open) { btn.setAttribute('aria-expanded', String(open)); nav.classList.toggle('open', open); }
  on(btn, 'click', function () { set(btn.getAttribute('aria-expanded') !== 'true'); });
  on(nav, 'keydown', function (e) {
    if (e.key === 'Escape' && nav.classList.contains('open')) { set(false); btn.focus(); }
  });
}

/* Gallery lightbox (modal dialog) */
function initLightbox() {
  if (!$('.gallery a[href]')) return;
  var links = [], n = 0, box, fig, bar, img, cap, count, btns, idx = 0, opener, inerted = [], sx = 0, sy = 0;
  function build() {
    box = el('div', { 'class': 'lightbox', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Image viewer',
      'aria-describedby': 'lightbox-caption', hidden: '' });
    fig = el('figure', { 'class': 'lightbox-figure' });
    img = el('img', { 'class': 'lightbox-img', alt: '' });
    cap = el('figcaption', { 'class': 'lightbox-caption', id: 'lightbox-caption' });
    count = el('span', { 'class': 'lightbox-count' });
    bar = el('div', { 'class': 'lightbox-bar' });
    btns = [['‹ Previous', 'prev', -1], ['Next ›', 'next', 1], ['Close ×', 'close', 0]].map(function (b) {
      var x = el('button', { type: 'button', 'class': 'lightbox-' + b[1] }, b[0]);
      on(x, 'click', function () { b[2] ? show(idx + b[2]) : close(); });
      bar.appendChild(x);
      return x;
    });
    fig.appendChild(img); fig.appendChild(cap);
    box.appendChild(fig); box.appendChild(bar);
    on(box, 'click', function (e) { if (e.target === box || e.target === fig || e.target === bar) close(); });
    on(box, 'keydown', key);
    on(box, 'touchstart', function (e) { var t = e.changedTouches[0]; sx = t.clientX; sy = t.clientY; }, { passive: true });
    on(box, 'touchend', function (e) {
      var t = e.changedTouches[0], dx = t.clientX - sx, dy = t.clientY - sy;
      if (Math.abs(dx) > 40 && Math.abs(dx) > 1.5 * Math.abs(dy)) show(idx + (dx < 0 ? 1 : -1));
    }, { passive: true });
    d.body.appendChild(box);
  }
  function key(e) {
    var k = e.key, f, i;
    if (k === 'Escape') close();
    else if (k === 'ArrowLeft' || k === 'ArrowRight') show(idx + (k === 'ArrowLeft' ? -1 : 1));
    else if (k === 'Tab') {
      f = btns.filter(function (b) { return !b.hidden; });
      i = f.indexOf(d.activeElement);
      if (e.shiftKey ? i > 0 : i > -1 && i < f.length - 1) return;
      (e.shiftKey ? f[f.length - 1] : f[0]).focus();
    } else return;
    e.preventDefault();
  }
  function captionOf(a) {
    var fc = a.closest('figure'), t = $('img', a);
    fc = fc && $('figcaption', fc);
    return (fc && fc.textContent.trim()) || (t && t.alt) || '';
  }
  function show(i) {
    idx = (i % n + n) % n;
    var a = links[idx], t = $('img', a);
    if (t && t.getAttribute('width')) { img.setAttribute('width', t.getAttribute('width')); img.setAttribute('height', t.getAttribute('height')); }
    img.src = a.href;
    img.alt = (t && t.alt) || captionOf(a);
    cap.textContent = captionOf(a);
    count.textContent = n > 1 ? (idx + 1) + ' of ' + n : '';
    cap.appendChild(count);
    if (n > 1) { new Image().src = links[(idx + 1) % n].href; new Image().src = links[(idx + n - 1) % n].href; }
  }
  function open(a) {
    links = $$('.gallery a[href]').filter(function (l) { return !l.closest('[hidden]'); });
    n = links.length;
    if (!box) build();
    btns[0].hidden = btns[1].hidden = n < 2;
    opener = d.activeElement;
    [].forEach.call(d.body.children, function (c) { if (c !== box && !c.inert) { c.inert = true; inerted.push(c); } });
    box.hidden = false;
    html.classList.add('lightbox-open');
    show(Math.max(0, links.indexOf(a)));
    btns[2].focus();
  }
  function close() {
    box.hidden = true;
    html.classList.remove('lightbox-open');
    inerted.forEach(function (c) { c.inert = false; });
    inerted = [];
    img.removeAttribute('src');
    if (opener && opener.focus) opener.focus();
  }
  on(d, 'click', function (e) { /* the galleries of every side, also those the switch adds later */
    var a = e.target.closest && e.target.closest('.gallery a[href]');
    if (!a || e.button || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    open(a);
  });
}

/* Side switch (Both / Left / Right): native radios, so arrows, touch and focus work as usual.
   Each .side-group shows the child whose data-side is chosen; the first time a side is chosen
   its <template> becomes markup (nothing of the other sides loads before). */
function showSide(side) {
  $$('.side-group').forEach(function (group) {
    var shown = null;
    [].slice.call(group.children).forEach(function (c) {
      if (c.tagName === 'TEMPLATE' || !c.hasAttribute('data-side')) return;
      c.hidden = c.getAttribute('data-side') !== side;
      if (!c.hidden) shown = c;
    });
    if (!shown) {
      var t = [].slice.call(group.children).filter(function (c) {
        return c.tagName === 'TEMPLATE' && c.getAttribute('data-side') === side;
      })[0];
      if (t) {
        shown = t.content.firstElementChild.cloneNode(true);
        group.insertBefore(shown, t);
      }
    }
    group.dispatchEvent(new CustomEvent('sidechange', { detail: { side: side, view: shown } }));
  });
}
function initSides() {
  var sw = $('.side-switch');
  if (!sw) return;
  sw.hidden = false;
  on(sw, 'change', function (e) { if (e.target.name === 'side' && e.target.checked) showSide(e.target.value); });
}

/* Search: search-index.json = [{title, url, kind, text}] */
var index;
function norm(s) { return String(s || '').toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, ''); }
function words(s) { return norm(s).split(/[^a-z0-9\u00df-\u024f\u0370-\u03ff]+/).filter(Boolean); }
function loadIndex() {
  index = index || fetch(root + 'search-index.json').then(function (r) {
    if (!r.ok) throw new Error(r.status);
    return r.json();
  }).then(function (list) {
    return [].concat(list || []).map(function (it) {
      var t = String(it.title || ''), x = String(it.text || '');
      return { it: it, title: t, text: x, nt: norm(t), nx: norm(x),
        tw: ' ' + words(t).join(' ') + ' ', xw: ' ' + words(x).join(' ') + ' ' };
    });
  });
  index.catch(function () { index = null; });
  return index;
}
function score(e, qw, qn) {
  var total = 0;
  for (var i = 0; i < qw.length; i++) {
    var w = qw[i], short = w.length <= 3, s,
      tWhole = e.tw.indexOf(' ' + w + ' ') > -1, tPre = e.tw.indexOf(' ' + w) > -1, tSub = e.nt.indexOf(w) > -1,
      xWhole = e.xw.indexOf(' ' + w + ' ') > -1, xPre = e.xw.indexOf(' ' + w) > -1, xSub = e.nx.indexOf(w) > -1;
    /* all words must match; short ones ("SOL") at a word start */
    if (short ? !(tPre || xPre) : !(tSub || xSub)) return -1;
    s = tWhole ? 12 : tPre ? 8 : tSub ? 6 : 0;
    total += s || (xWhole ? (short ? 10 : 3) : xPre ? 2 : 1); /* short whole word = abbreviation */
  }
  if (e.nt === qn) total += 30; else if (e.nt.indexOf(qn) > -1) total += 8;
  return total + (e.it.kind === 'muscle' ? 1 : 0);
}
function esc(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
function highlight(node, text, qw) {
  var re = new RegExp(qw.map(esc).sort(function (a, b) { return b.length - a.length; }).join('|'), 'ig'), last = 0, m;
  while ((m = re.exec(text))) {
    node.appendChild(d.createTextNode(text.slice(last, m.index)));
    node.appendChild(el('mark', null, m[0]));
    last = re.lastIndex;
  }
  node.appendChild(d.createTextNode(text.slice(last)));
}
function snippet(e, qw) {
  var t = e.text.replace(/\s+/g, ' ').trim(), lo = t.toLowerCase(), pos = -1, i, start, end;
  for (i = 0; i < qw.length && pos < 0; i++) pos = lo.indexOf(qw[i]);
  if (t.length <= 180) return t;
  start = Math.max(0, pos - 60);
  if (start) { i = t.indexOf(' ', start); if (i > 0 && i < pos) start = i + 1; }
  end = Math.min(t.length, start + 180);
  return (start ? '… ' : '') + t.slice(start, end) + (end < t.length ? ' …' : '');
}
function resolve(u) { u = String(u || ''); return /^([a-z][a-z0-9+.-]*:|\/|#|\.\.?\/)/i.test(u) ? u : root + u; }
function initSearch() {
  var form = $('#search-form'), input = $('#search-q'), list = $('#search-results'), status = $('#search-status'), timer, seq = 0;
  if (!form || !input || !list) return;
  function say(m) { if (status) status.textContent = m; }
  function run(q, push) {
    var my = ++seq;
    q = q.trim();
    if (push && history.replaceState) history.replaceState(null, '', q ? '?q=' + encodeURIComponent(q) : location.pathname);
    if (!q) { list.textContent = ''; say(''); return; }
    say('Searching…');
    loadIndex().then(function (entries) {
      if (my !== seq) return;
      var qw = words(q), qn = norm(q).trim(), res = [];
      entries.forEach(function (e) { var s = qw.length ? score(e, qw, qn) : -1; if (s >= 0) res.push([s, e]); });
      res.sort(function (a, b) { return b[0] - a[0] || a[1].title.length - b[1].title.length || a[1].title.localeCompare(b[1].title); });
      list.textContent = '';
      res.slice(0, 60).forEach(function (r) {
        var e = r[1], li = el('li'), p = el('p'), text = snippet(e, qw);
        li.appendChild(el('a', { href: resolve(e.it.url) }, e.title));
        if (e.it.kind) li.appendChild(el('span', { 'class': 'badge' }, e.it.kind));
        if (text) { highlight(p, text, qw); li.appendChild(p); }
        list.appendChild(li);
      });
      var k = res.length;
      say(k ? k + (k === 1 ? ' result' : ' results') + ' for “' + q + '”' + (k > 60 ? ' (showing the first 60).' : '.')
        : 'No results for “' + q + '”. Try a Latin name, an abbreviation (e.g. SOL) or an action (e.g. plantarflexion).');
    }).catch(function () {
      if (my === seq) say('The search index could not be loaded (opened from disk? serve the folder, e.g. python3 -m http.server).');
    });
  }
  on(form, 'submit', function (e) { e.preventDefault(); clearTimeout(timer); run(input.value, true); });
  on(input, 'input', function () { clearTimeout(timer); timer = setTimeout(function () { run(input.value, true); }, 180); });
  var q = new URLSearchParams(location.search).get('q');
  if (q) { input.value = q; run(q); } else loadIndex().catch(function () {});
}

/* Sortable tables */
function sortKey(cell) {
  return parseKey(cell ? (cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent).trim() : '');
}
function parseKey(s) {
  var m = s.replace(/[\s\u00a0\u202f]|,(?=\d{3}\b)/g, '').replace('−', '-').match(/^[-+]?(\d+([.,]\d+)?|[.,]\d+)(e[-+]?\d+)?/i);
  return { s: s, n: m ? parseFloat(m[0].replace(',', '.')) : NaN };
}
function initTables() {
  $$('table.sortable').forEach(function (table) {
    var head = table.tHead && table.tHead.rows[0], body = table.tBodies[0];
    if (!head || !body) return;
    [].forEach.call(head.cells, function (th, col) {
      var b = el('button', { type: 'button' });
      while (th.firstChild) b.appendChild(th.firstChild);
      th.appendChild(b);
      on(b, 'click', function () {
        var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending', sign = dir === 'ascending' ? 1 : -1;
        [].forEach.call(head.cells, function (o) { o.removeAttribute('aria-sort'); });
        th.setAttribute('aria-sort', dir);
        var rows = [].map.call(body.rows, function (r, i) { return { r: r, i: i, k: sortKey(r.cells[col]) }; }),
          filled = rows.filter(function (x) { return x.k.s; }),
          numeric = filled.some(function (x) { return !isNaN(x.k.n); }) &&
            filled.every(function (x) { return !isNaN(x.k.n) || !/\d/.test(x.k.s); });
        if (numeric) rows.forEach(function (x) { if (isNaN(x.k.n)) x.k.s = ''; }); /* "—" = blank */
        rows.sort(function (a, b) {
          var ea = !a.k.s, eb = !b.k.s, c;
          if (ea || eb) return ea === eb ? a.i - b.i : ea ? 1 : -1; /* blanks last */
          c = numeric ? a.k.n - b.k.n : a.k.s.localeCompare(b.k.s, undefined, { numeric: true, sensitivity: 'base' });
          return c * sign || a.i - b.i;
        });
        rows.forEach(function (x) { body.appendChild(x.r); });
      });
    });
  });
}

/* Paged tables (.paged-table): the first page is HTML; the whole list (the a.paged-source link:
   JSON {columns, rows}) is fetched on the first search, sort or page turn, then filtered, sorted
   and drawn one page at a time (the static pager's links give way to buttons). A cell: a text, a
   number, or [text, URL]; the first cell links to the JSON's "link" with {} replaced by its text;
   URLs are relative to the JSON file. */
function cellText(c) { return Array.isArray(c) ? String(c[0]) : String(c); }
function cellKey(c) { return typeof c === 'number' ? { n: c, s: String(c) } : parseKey(cellText(c).trim()); }
function initPaged() {
  $$('.paged-table').forEach(function (box) {
    var form = $('.paged-filter', box), input = form && $('input', form), table = $('table.paged', box),
      body = table && table.tBodies[0], head = table && table.tHead && table.tHead.rows[0], nav = $('.paged-pager', box),
      status = $('.paged-status', box), pos = $('.paged-position', box), source = $('a.paged-source', box),
      size = +box.getAttribute('data-page-rows') || 50, total = +box.getAttribute('data-total') || 0,
      steps = nav ? $$('button[data-step]', nav) : [], data = null, loading = null, shown = null,
      page = (+box.getAttribute('data-page') || 1) - 1,
      sortCol = -1, sortDir = 1, query = '', link = '', timer, seq = 0,
      heading = d.getElementById(box.getAttribute('data-heading') || ''), title = box.getAttribute('data-title') || '';
    if (!body || !head || !source) return;
    function say(m) { if (status) status.textContent = m; }
    function load() {
      loading = loading || fetch(source.href).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      }).then(function (j) {
        link = j.link || '';
        data = (j.rows || []).map(function (row, i) { return { row: row, i: i, text: ' ' + words(row.map(cellText).join(' ')).join(' ') }; });
        if (!shown) shown = data.slice();
        return data;
      });
      loading.catch(function () {
        loading = null;
        say('The list of subjects could not be loaded (opened from disk? serve the folder, e.g. python3 -m http.server).');
      });
      return loading;
    }
    function count(n) { return n.toLocaleString('en'); }
    function draw() {
      var pages = Math.max(1, Math.ceil(shown.length / size)), start, part;
      page = Math.min(Math.max(page, 0), pages - 1);
      start = page * size;
      part = shown.slice(start, start + size);
      body.textContent = '';
      part.forEach(function (x) {
        var tr = el('tr');
        x.row.forEach(function (c, col) {
          var td = el(col ? 'td' : 'th', col ? null : { scope: 'row' }),
            u = Array.isArray(c) ? c[1] : !col && link ? link.replace('{}', cellText(c)) : '';
          if (u) td.appendChild(el('a', { href: new URL(u, source.href).href }, cellText(c))); else td.textContent = cellText(c);
          tr.appendChild(td);
        });
        body.appendChild(tr);
      });
      say(shown.length ? (shown.length > size ? count(start + 1) + '–' + count(start + part.length) + ' of ' : '') +
        count(shown.length) + (shown.length === 1 ? ' subject' : ' subjects') + (query ? ' matching “' + query + '”.' : '.')
        : 'No subject matches “' + query + '”.');
      if (heading) heading.textContent = title + (pages > 1 && !query && sortCol < 0 ? ', page ' + count(page + 1) + ' of ' + count(pages) : '');
      if (nav) {
        nav.hidden = pages < 2;
        if (pos) pos.textContent = 'Page ' + count(page + 1) + ' of ' + count(pages);
        steps.forEach(function (b) { var step = +b.getAttribute('data-step'); b.disabled = step < 0 ? page === 0 : page >= pages - 1; });
      }
    }
    function order() {
      if (sortCol < 0) { shown.sort(function (a, b) { return a.i - b.i; }); return; }
      var keyed = shown.map(function (x) { return { x: x, k: cellKey(x.row[sortCol]) }; });
      keyed.sort(function (a, b) { /* numbers by value, then texts (">80" after the ages), blanks last */
        var ea = !a.k.s || a.k.s === '—', eb = !b.k.s || b.k.s === '—', na = !isNaN(a.k.n), nb = !isNaN(b.k.n), c;
        if (ea || eb) return ea === eb ? a.x.i - b.x.i : ea ? 1 : -1;
        if (na !== nb) return na ? -1 : 1;
        c = na ? a.k.n - b.k.n : a.k.s.localeCompare(b.k.s, undefined, { numeric: true, sensitivity: 'base' });
        return c * sortDir || a.x.i - b.x.i;
      });
      shown = keyed.map(function (y) { return y.x; });
    }
    function find(q, push) {
      var my = ++seq;
      load().then(function () {
        if (my !== seq) return;
        query = q.trim();
        var qw = words(query);
        shown = data.filter(function (x) { return qw.every(function (w) { return x.text.indexOf(' ' + w) > -1; }); });
        order();
        page = 0;
        draw();
        if (push && history.replaceState) history.replaceState(null, '', query ? '?q=' + encodeURIComponent(query) : location.pathname);
      });
    }
    if (form && input) {
      form.hidden = false;
      on(form, 'submit', function (e) { e.preventDefault(); clearTimeout(timer); find(input.value, true); });
      on(input, 'input', function () { clearTimeout(timer); timer = setTimeout(function () { find(input.value, true); }, 180); });
      on(input, 'focus', function () { load(); });
    }
    if (nav && total > size) {
      $$('.paged-static', box).forEach(function (n) { n.hidden = true; });
      nav.hidden = false;
      if (pos) pos.textContent = 'Page ' + count(page + 1) + ' of ' + count(Math.ceil(total / size));
      steps.forEach(function (b) {
        var step = +b.getAttribute('data-step');
        b.disabled = step < 0 ? page === 0 : page >= Math.ceil(total / size) - 1;
        on(b, 'click', function () { load().then(function () { page += +b.getAttribute('data-step'); draw(); }); });
      });
    }
    [].forEach.call(head.cells, function (th, col) {
      var b = el('button', { type: 'button' });
      while (th.firstChild) b.appendChild(th.firstChild);
      th.appendChild(b);
      on(b, 'click', function () {
        load().then(function () {
          sortDir = sortCol === col && sortDir > 0 ? -1 : 1;
          sortCol = col;
          [].forEach.call(head.cells, function (o) { o.removeAttribute('aria-sort'); });
          th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
          order();
          page = 0;
          draw();
        });
      });
    });
    var q = new URLSearchParams(location.search).get('q');
    if (q && input) { input.value = q; find(q); }
  });
}

/* Video pause button; "Show 3D model" when WebGL and custom elements exist */
function hasWebGL() {
  try {
    var gl = d.createElement('canvas'), x;
    gl = window.WebGLRenderingContext && (gl.getContext('webgl2') || gl.getContext('webgl'));
    if (gl && (x = gl.getExtension('WEBGL_lose_context'))) x.loseContext();
    return !!gl;
  } catch (err) { return false; }
}
var viewerJs, webgl;
function loadViewer(src) {
  return viewerJs = viewerJs || new Promise(function (ok, fail) {
    var s = el('script', { type: 'module', src: src });
    s.onload = ok;
    s.onerror = function () { viewerJs = null; s.remove(); fail(); };
    d.head.appendChild(s);
  });
}
/* A page's own structures in its scene's shared model: each structure is a material named
   after its label key; the page's take their colours, the scene's others turn translucent. */
var CONTEXT = [0.6038, 0.3419, 0.2961, 0.22]; /* the context muscle colour, linear RGBA */
function linearRGBA(hex) {
  return [1, 3, 5].map(function (i) {
    var c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.04045 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4);
  }).concat([1]);
}
function paint(mv, colours) {
  if (!mv.model || !colours) return;
  mv.model.materials.forEach(function (m) {
    var name = m.name || '', c = colours[name];
    if (c) { m.pbrMetallicRoughness.setBaseColorFactor(linearRGBA(c)); m.setAlphaMode('OPAQUE'); }
    else if (name.indexOf('context:') !== 0 && name !== 'mapped') {
      m.pbrMetallicRoughness.setBaseColorFactor(CONTEXT); m.setAlphaMode('BLEND');
    }
  });
}
function parseColours(text) { try { return text ? JSON.parse(text) : null; } catch (err) { return null; } }
function initViewers() {
  $$('figure.viewer').forEach(function (fig) {
    var tools = $('.viewer-tools', fig), stage = $('.viewer-stage', fig), caption = $('.viewer-caption', fig),
      view, video, media, pauseB, held = false, mv, on3d = false, btn, msg;
    if (!tools || !stage) return;
    function attr(name) { return (view && view.getAttribute(name)) || fig.getAttribute(name); }
    function current() {
      view = [].slice.call(stage.querySelectorAll('.side-view')).filter(function (v) { return !v.hidden; })[0] || null;
      video = $('video', view || stage);
      media = view || video || $('img', stage);
    }
    current();
    if (video) {
      pauseB = el('button', { type: 'button', 'class': 'secondary' });
      var label = function () { pauseB.textContent = !video || video.paused ? 'Play rotation' : 'Pause rotation'; };
      on(stage, 'play', label, true);
      on(stage, 'pause', label, true);
      on(pauseB, 'click', function () { held = !video.paused; held ? video.pause() : play(video); });
      if (matchMedia('(prefers-reduced-motion: reduce)').matches) { held = true; video.removeAttribute('autoplay'); video.pause(); }
      label();
      tools.appendChild(pauseB);
    }
    on(stage, 'sidechange', function () {
      $$('video', stage).forEach(function (v) { v.pause(); });
      current();
      if (caption && view && view.getAttribute('data-caption')) caption.textContent = view.getAttribute('data-caption');
      if (on3d) { if (media) media.hidden = true; if (mv) load3d(); }
      else if (video && !held) play(video);
      if (pauseB) pauseB.textContent = video && !video.paused ? 'Pause rotation' : 'Play rotation';
    });
    var glb = fig.getAttribute('data-model'), src = fig.getAttribute('data-viewer-src');
    if (!glb || !src || !window.customElements) return;
    if (webgl == null) webgl = hasWebGL();
    if (!webgl) return;
    btn = el('button', { type: 'button' }, 'Show 3D model');
    msg = el('span', { 'class': 'viewer-msg', role: 'status' });
    function load3d() {
      var url = attr('data-model');
      mv.setAttribute('alt', attr('data-model-alt') || '');
      mv.colours = parseColours(attr('data-model-highlight'));
      if (mv.getAttribute('src') !== url) mv.setAttribute('src', url);
      else paint(mv, mv.colours);
    }
    function toggle(to3d) {
      on3d = to3d;
      mv.hidden = !to3d;
      if (media) media.hidden = to3d;
      if (pauseB) pauseB.hidden = to3d;
      if (video) to3d ? video.pause() : held || play(video);
      btn.textContent = to3d ? (video ? 'Show video' : 'Show image') : 'Show 3D model';
    }
    on(btn, 'click', function () {
      msg.textContent = '';
      if (!mv) {
        mv = el('model-viewer', { 'camera-controls': '', 'auto-rotate': '', 'touch-action': 'pan-y',
          'interaction-prompt': 'none', 'shadow-intensity': '0.6' });
        var poster = fig.getAttribute('data-model-poster'), w = fig.getAttribute('data-width'), h = fig.getAttribute('data-height');
        if (poster) mv.setAttribute('poster', poster);
        if (w && h) mv.style.aspectRatio = w + ' / ' + h;
        on(mv, 'error', function () { msg.textContent = 'The 3D model could not be displayed.'; });
        on(mv, 'load', function () { paint(mv, mv.colours); });
        stage.appendChild(mv);
      }
      toggle(!on3d);
      if (!on3d) return;
      var draco = fig.getAttribute('data-draco');
      if (draco) { /* read by model-viewer when its module loads: the decoder comes from this site */
        window.ModelViewerElement = window.ModelViewerElement || {};
        window.ModelViewerElement.dracoDecoderLocation = new URL(draco, location.href).href;
      }
      loadViewer(src).then(load3d, function () { toggle(false); msg.textContent = 'The 3D viewer could not be loaded.'; });
    });
    tools.insertBefore(btn, tools.firstChild);
    tools.appendChild(msg);
  });
}

[initMenu, initLightbox, initSearch, initTables, initPaged, initSides, initViewers].forEach(function (f) {
  try { f(); } catch (err) { /* keep other features working */ }
});
})();
