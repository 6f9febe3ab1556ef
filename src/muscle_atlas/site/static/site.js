/* muscle-atlas — progressive enhancements: menu, lightbox, search, sortable tables, 3D viewer.
   Vanilla JS, loaded with defer; every feature is optional and the page works without it. */
(function () {
  'use strict';
  var d = document;
  var docEl = d.documentElement;
  var root = (d.body && d.body.getAttribute('data-root')) || '';

  function $(sel, ctx) { return (ctx || d).querySelector(sel); }
  function $$(sel, ctx) { return Array.prototype.slice.call((ctx || d).querySelectorAll(sel)); }
  function el(tag, attrs, text) {
    var e = d.createElement(tag);
    if (attrs) Object.keys(attrs).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text != null) e.textContent = text;
    return e;
  }
  function safe(fn) { try { fn(); } catch (err) { /* one feature failing must not break the others */ } }

  docEl.classList.add('js');

  /* ---------- 1. Narrow-screen menu (disclosure button) ---------- */
  function initMenu() {
    var nav = $('.site-nav');
    var btn = nav && $('.nav-toggle', nav);
    if (!btn) return;
    function set(open) {
      btn.setAttribute('aria-expanded', open ? 'true' : 'false');
      nav.classList.toggle('open', open);
    }
    btn.addEventListener('click', function () { set(btn.getAttribute('aria-expanded') !== 'true'); });
    nav.addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && nav.classList.contains('open')) { set(false); btn.focus(); }
    });
  }

  /* ---------- 2. Lightbox for the gallery ---------- */
  function initLightbox() {
    var links = $$('.gallery a[href]');
    if (!links.length) return;
    var box, img, cap, count, prevB, nextB, closeB, idx = 0, opener = null, inerted = [], sx = 0, sy = 0;

    function button(label, cls) {
      var b = el('button', { type: 'button', 'class': cls }, label);
      return b;
    }
    function build() {
      box = el('div', { 'class': 'lightbox', role: 'dialog', 'aria-modal': 'true', 'aria-label': 'Image viewer', hidden: '' });
      var fig = el('figure', { 'class': 'lightbox-figure' });
      img = el('img', { 'class': 'lightbox-img', alt: '' });
      cap = el('figcaption', { 'class': 'lightbox-caption', id: 'lightbox-caption' });
      box.setAttribute('aria-describedby', 'lightbox-caption');
      count = el('span', { 'class': 'lightbox-count' });
      var bar = el('div', { 'class': 'lightbox-bar' });
      prevB = button('‹ Previous', 'lightbox-prev');
      nextB = button('Next ›', 'lightbox-next');
      closeB = button('Close ×', 'lightbox-close');
      prevB.addEventListener('click', function () { step(-1); });
      nextB.addEventListener('click', function () { step(1); });
      closeB.addEventListener('click', close);
      if (links.length < 2) { prevB.hidden = true; nextB.hidden = true; }
      fig.appendChild(img);
      fig.appendChild(cap);
      bar.appendChild(prevB);
      bar.appendChild(nextB);
      bar.appendChild(closeB);
      box.appendChild(fig);
      box.appendChild(bar);
      box.addEventListener('click', function (e) {
        if (e.target === box || e.target === fig || e.target === bar) close();
      });
      box.addEventListener('keydown', onKey);
      box.addEventListener('touchstart', function (e) {
        var t = e.changedTouches[0]; sx = t.clientX; sy = t.clientY;
      }, { passive: true });
      box.addEventListener('touchend', function (e) {
        var t = e.changedTouches[0], dx = t.clientX - sx, dy = t.clientY - sy;
        if (Math.abs(dx) > 40 && Math.abs(dx) > 1.5 * Math.abs(dy)) step(dx < 0 ? 1 : -1);
      }, { passive: true });
      d.body.appendChild(box);
    }
    function onKey(e) {
      if (e.key === 'Escape') { e.preventDefault(); close(); }
      else if (e.key === 'ArrowLeft') { e.preventDefault(); step(-1); }
      else if (e.key === 'ArrowRight') { e.preventDefault(); step(1); }
      else if (e.key === 'Tab') {
        var f = [prevB, nextB, closeB].filter(function (b) { return !b.hidden; });
        var i = f.indexOf(d.activeElement);
        if (e.shiftKey && i <= 0) { e.preventDefault(); f[f.length - 1].focus(); }
        else if (!e.shiftKey && (i === -1 || i === f.length - 1)) { e.preventDefault(); f[0].focus(); }
      }
    }
    function captionOf(a) {
      var fig = a.closest('figure'), fc = fig && $('figcaption', fig), t = $('img', a);
      return (fc && fc.textContent.trim()) || a.getAttribute('data-caption') || (t && t.alt) || '';
    }
    function show(i) {
      var n = links.length;
      idx = ((i % n) + n) % n;
      var a = links[idx], thumb = $('img', a);
      if (thumb && thumb.getAttribute('width')) {
        img.setAttribute('width', thumb.getAttribute('width'));
        img.setAttribute('height', thumb.getAttribute('height'));
      }
      img.src = a.href;
      img.alt = (thumb && thumb.alt) || captionOf(a);
      cap.textContent = captionOf(a);
      count.textContent = n > 1 ? (idx + 1) + ' of ' + n : '';
      cap.appendChild(count);
      if (n > 1) { (new Image()).src = links[(idx + 1) % n].href; (new Image()).src = links[(idx - 1 + n) % n].href; }
    }
    function step(s) { show(idx + s); }
    function open(i) {
      if (!box) build();
      opener = d.activeElement;
      inerted = [];
      Array.prototype.forEach.call(d.body.children, function (c) {
        if (c !== box && !c.inert && c.tagName !== 'SCRIPT') { c.inert = true; inerted.push(c); }
      });
      box.hidden = false;
      docEl.classList.add('lightbox-open');
      show(i);
      closeB.focus();
    }
    function close() {
      if (!box || box.hidden) return;
      box.hidden = true;
      docEl.classList.remove('lightbox-open');
      inerted.forEach(function (c) { c.inert = false; });
      inerted = [];
      img.removeAttribute('src');
      if (opener && opener.focus) opener.focus();
    }
    links.forEach(function (a, i) {
      a.addEventListener('click', function (e) {
        if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
        e.preventDefault();
        open(i);
      });
    });
  }

  /* ---------- 3. Search ---------- */
  var indexPromise = null;
  function loadIndex() {
    if (!indexPromise) {
      indexPromise = fetch(root + 'search-index.json').then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      }).then(function (list) {
        return (Array.isArray(list) ? list : []).map(function (it) {
          var title = String(it.title || ''), text = String(it.text || '');
          return {
            item: it, title: title, text: text,
            nt: norm(title), nx: norm(text),
            tw: ' ' + words(title).join(' ') + ' ', xw: ' ' + words(text).join(' ') + ' '
          };
        });
      });
      indexPromise.catch(function () { indexPromise = null; });
    }
    return indexPromise;
  }
  function norm(s) {
    s = String(s || '').toLowerCase();
    return s.normalize ? s.normalize('NFD').replace(/[\u0300-\u036f]/g, '') : s;
  }
  function words(s) { return norm(s).split(/[^a-z0-9\u00df-\u024f\u0370-\u03ff]+/).filter(Boolean); }

  function scoreEntry(e, qw, qn) {
    var total = 0;
    for (var i = 0; i < qw.length; i++) {
      var w = qw[i], short = w.length <= 3;
      var tWhole = e.tw.indexOf(' ' + w + ' ') >= 0, tPre = e.tw.indexOf(' ' + w) >= 0, tSub = e.nt.indexOf(w) >= 0;
      var xWhole = e.xw.indexOf(' ' + w + ' ') >= 0, xPre = e.xw.indexOf(' ' + w) >= 0, xSub = e.nx.indexOf(w) >= 0;
      /* short words (abbreviations such as "SOL") must start a word; longer words may match anywhere */
      if (short ? !(tPre || xPre) : !(tSub || xSub)) return -1;
      var s = tWhole ? 12 : tPre ? 8 : tSub ? 6 : 0;
      if (!s) s = xWhole ? (short ? 10 : 3) : xPre ? 2 : 1; /* whole-word short hit = abbreviation */
      total += s;
    }
    if (e.nt === qn) total += 30;
    else if (e.nt.indexOf(qn) >= 0) total += 8;
    if (e.item.kind === 'muscle') total += 1;
    return total;
  }
  function search(entries, q) {
    var qw = words(q), qn = norm(q).trim();
    if (!qw.length) return [];
    var out = [];
    entries.forEach(function (e) {
      var s = scoreEntry(e, qw, qn);
      if (s >= 0) out.push({ e: e, s: s });
    });
    out.sort(function (a, b) { return b.s - a.s || a.e.title.length - b.e.title.length || a.e.title.localeCompare(b.e.title); });
    return out;
  }
  function escapeRe(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'); }
  /* Append text to node, wrapping query-word matches in <mark> (text nodes only: no HTML injection). */
  function highlight(node, text, qw) {
    var re = new RegExp('(' + qw.map(escapeRe).sort(function (a, b) { return b.length - a.length; }).join('|') + ')', 'ig');
    var last = 0, m;
    while ((m = re.exec(text)) !== null) {
      if (!m[0]) { re.lastIndex++; continue; }
      if (m.index > last) node.appendChild(d.createTextNode(text.slice(last, m.index)));
      node.appendChild(el('mark', null, m[0]));
      last = m.index + m[0].length;
    }
    if (last < text.length) node.appendChild(d.createTextNode(text.slice(last)));
  }
  function snippet(e, qw) {
    var t = e.text.replace(/\s+/g, ' ').trim(), lower = t.toLowerCase(), pos = -1;
    for (var i = 0; i < qw.length && pos < 0; i++) pos = lower.indexOf(qw[i]);
    if (t.length <= 180) return t;
    var start = Math.max(0, pos - 60), end = Math.min(t.length, start + 180);
    if (start > 0) { var sp = t.indexOf(' ', start); if (sp > 0 && sp < pos) start = sp + 1; }
    return (start > 0 ? '… ' : '') + t.slice(start, end) + (end < t.length ? ' …' : '');
  }
  function resolve(u) {
    u = String(u || '');
    return /^(?:[a-z][a-z0-9+.-]*:|\/|#|\.\.?\/)/i.test(u) ? u : root + u;
  }
  function initSearch() {
    var form = $('#search-form'), input = $('#search-q'), list = $('#search-results'), status = $('#search-status');
    if (!form || !input || !list) return;
    var timer = 0, seq = 0;
    function say(msg) { if (status) status.textContent = msg; }
    function run(q, push) {
      var my = ++seq;
      q = q.trim();
      if (push && window.history && history.replaceState) {
        history.replaceState(null, '', q ? '?q=' + encodeURIComponent(q) : location.pathname);
      }
      if (!q) { list.textContent = ''; say(''); return; }
      say('Searching…');
      loadIndex().then(function (entries) {
        if (my !== seq) return;
        var res = search(entries, q), qw = words(q);
        list.textContent = '';
        res.slice(0, 60).forEach(function (r) {
          var li = el('li'), a = el('a', { href: resolve(r.e.item.url) }, r.e.title);
          li.appendChild(a);
          if (r.e.item.kind) li.appendChild(el('span', { 'class': 'badge' }, r.e.item.kind));
          var text = snippet(r.e, qw);
          if (text) { var p = el('p'); highlight(p, text, qw); li.appendChild(p); }
          list.appendChild(li);
        });
        var n = res.length;
        say(n ? n + (n === 1 ? ' result' : ' results') + ' for “' + q + '”' + (n > 60 ? ' (showing the first 60).' : '.')
          : 'No results for “' + q + '”. Try a Latin name, an abbreviation (e.g. SOL) or an action (e.g. plantarflexion).');
      }).catch(function () {
        if (my !== seq) return;
        say('The search index could not be loaded. If you opened these files directly from disk, serve the folder with a web server (for example: python3 -m http.server).');
      });
    }
    form.addEventListener('submit', function (e) { e.preventDefault(); clearTimeout(timer); run(input.value, true); });
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(function () { run(input.value, true); }, 180);
    });
    var q = '';
    try { q = new URLSearchParams(location.search).get('q') || ''; } catch (err) { q = ''; }
    if (q) { input.value = q; run(q, false); }
    else { loadIndex().catch(function () {}); }
  }

  /* ---------- 4. Sortable tables ---------- */
  var NUM = /^[-+−]?(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:e[-+]?\d+)?/i;
  function sortKey(cell) {
    if (!cell) return { s: '', n: NaN };
    var raw = cell.hasAttribute('data-sort') ? cell.getAttribute('data-sort') : cell.textContent;
    var s = raw.trim(), c = s.replace(/[\s\u00a0\u202f]/g, '').replace(/,(?=\d{3}\b)/g, '');
    var m = c.match(NUM);
    var n = m ? parseFloat(m[0].replace('−', '-').replace(',', '.')) : NaN;
    return { s: s, n: n };
  }
  function initTables() {
    $$('table.sortable').forEach(function (table) {
      var head = table.tHead && table.tHead.rows[0];
      var body = table.tBodies[0];
      if (!head || !body) return;
      Array.prototype.forEach.call(head.cells, function (th, col) {
        var b = el('button', { type: 'button' });
        while (th.firstChild) b.appendChild(th.firstChild);
        th.appendChild(b);
        b.addEventListener('click', function () {
          var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
          Array.prototype.forEach.call(head.cells, function (o) { o.removeAttribute('aria-sort'); });
          th.setAttribute('aria-sort', dir);
          var rows = Array.prototype.slice.call(body.rows).map(function (r, i) { return { r: r, i: i, k: sortKey(r.cells[col]) }; });
          var filled = rows.filter(function (x) { return x.k.s !== ''; });
          var numeric = filled.some(function (x) { return !isNaN(x.k.n); }) && filled.every(function (x) { return !isNaN(x.k.n) || !/\d/.test(x.k.s); });
          if (numeric) rows.forEach(function (x) { if (isNaN(x.k.n)) x.k.s = ''; }); /* "—", "n/a": blanks */
          var sign = dir === 'ascending' ? 1 : -1;
          rows.sort(function (a, b) {
            var ea = a.k.s === '', eb = b.k.s === '';
            if (ea || eb) return ea === eb ? a.i - b.i : (ea ? 1 : -1); /* blanks always last */
            var c = numeric ? a.k.n - b.k.n : a.k.s.localeCompare(b.k.s, undefined, { numeric: true, sensitivity: 'base' });
            return c ? c * sign : a.i - b.i;
          });
          rows.forEach(function (x) { body.appendChild(x.r); });
        });
      });
    });
  }

  /* ---------- 5. Video controls and 3D viewer toggle ---------- */
  function hasWebGL() {
    try {
      var c = d.createElement('canvas');
      var gl = window.WebGLRenderingContext && (c.getContext('webgl2') || c.getContext('webgl'));
      if (!gl) return false;
      var lose = gl.getExtension('WEBGL_lose_context');
      if (lose) lose.loseContext();
      return true;
    } catch (err) { return false; }
  }
  var viewerScript = null;
  function loadViewer(src) {
    if (!viewerScript) {
      viewerScript = new Promise(function (resolveP, rejectP) {
        var s = el('script', { type: 'module', src: src });
        s.onload = resolveP;
        s.onerror = function () { viewerScript = null; s.remove(); rejectP(new Error('load')); };
        d.head.appendChild(s);
      });
    }
    return viewerScript;
  }
  function playSafe(v) { var p = v.play(); if (p && p.catch) p.catch(function () {}); }
  function initViewers() {
    var webgl = null;
    $$('figure.viewer').forEach(function (fig) {
      var tools = $('.viewer-tools', fig), stage = $('.viewer-stage', fig);
      if (!tools || !stage) return;
      var video = $('video', stage), media = video || $('img', stage), userPaused = false, pauseB = null;
      if (video) {
        pauseB = el('button', { type: 'button', 'class': 'secondary' }, 'Pause rotation');
        var label = function () { pauseB.textContent = video.paused ? 'Play rotation' : 'Pause rotation'; };
        video.addEventListener('play', label);
        video.addEventListener('pause', label);
        pauseB.addEventListener('click', function () {
          if (video.paused) { userPaused = false; playSafe(video); } else { userPaused = true; video.pause(); }
        });
        if (window.matchMedia && matchMedia('(prefers-reduced-motion: reduce)').matches) {
          userPaused = true; video.removeAttribute('autoplay'); video.pause();
        }
        label();
        tools.appendChild(pauseB);
      }
      var glb = fig.getAttribute('data-model'), src = fig.getAttribute('data-viewer-src');
      if (!glb || !src || !('customElements' in window)) return;
      if (webgl === null) webgl = hasWebGL();
      if (!webgl) return;
      var btn = el('button', { type: 'button' }, 'Show 3D model'), mv = null, on3d = false;
      var msg = el('span', { 'class': 'viewer-msg', role: 'status' });
      function showMedia() {
        on3d = false;
        if (mv) mv.hidden = true;
        if (media) media.hidden = false;
        if (pauseB) pauseB.hidden = false;
        if (video && !userPaused) playSafe(video);
        btn.textContent = 'Show 3D model';
      }
      btn.addEventListener('click', function () {
        if (on3d) { showMedia(); return; }
        msg.textContent = '';
        if (!mv) {
          mv = el('model-viewer', {
            src: glb, alt: fig.getAttribute('data-model-alt') || '', 'camera-controls': '', 'auto-rotate': '',
            'touch-action': 'pan-y', 'interaction-prompt': 'none', 'shadow-intensity': '0.6', exposure: '1.05'
          });
          var poster = fig.getAttribute('data-model-poster');
          if (poster) mv.setAttribute('poster', poster);
          var w = fig.getAttribute('data-width'), h = fig.getAttribute('data-height');
          if (w && h) mv.style.aspectRatio = w + ' / ' + h;
          mv.addEventListener('error', function () { msg.textContent = 'The 3D model could not be displayed.'; });
          stage.appendChild(mv);
        }
        on3d = true;
        if (video) video.pause();
        if (media) media.hidden = true;
        if (pauseB) pauseB.hidden = true;
        mv.hidden = false;
        btn.textContent = video ? 'Show video' : 'Show image';
        loadViewer(src).catch(function () {
          showMedia();
          msg.textContent = 'The 3D viewer could not be loaded.';
        });
      });
      tools.insertBefore(btn, tools.firstChild);
      tools.appendChild(msg);
    });
  }

  safe(initMenu);
  safe(initLightbox);
  safe(initSearch);
  safe(initTables);
  safe(initViewers);
})();
