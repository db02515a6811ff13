// cdebug-trace view: the timeline, details panel, stats and lints pages.
//
// Plain JavaScript on standard APIs only (canvas 2D, fetch, pointer events,
// ResizeObserver), so it runs as is in Chromium and Firefox. The page never
// holds the trace: for the visible window it asks the server for the spans
// at the canvas width (/api/slices: spans wider than a pixel one by one,
// narrower ones merged into counted "busy" blocks), redraws the last answer
// at once while the user zooms or pans, and replaces it when the answer for
// the new window arrives (debounced; stale answers are dropped).
//
// Read-only state for tests and curious users: window.cdt (see `cdt` below).
'use strict';

(function () {
  const LABEL_W = 180; // px, track names
  const AXIS_H = 26; // px, time axis
  const ROW_H = 18; // px, one lane (a track at one depth)
  const HEAP_H = 48; // px, the heap counter
  const GAP = 5; // px between tracks
  const MIN_SPAN_NS = 20; // narrowest window
  const FETCH_DELAY_MS = 40; // debounce of viewport queries

  // State visible to tests: read it, do not change it.
  const cdt = {
    ready: false, // true after the first frame drawn with server data
    settled: false, // no query pending and the frame shows the current window
    drawn: 0, // slice rectangles in the last frame
    busy: 0, // busy blocks in the last frame
    layout: [], // drawn rectangles {x, y, w, h, track, depth, name, kind, ref, busy}
    view: { start: 0, end: 1 }, // visible window, ns
    px: 0, // width of the last query, px
    fetches: 0, // viewport queries sent
    selected: null, // ref of the selected slice
    details: null, // JSON of the selected slice
    meta: null,
    errors: 0,
  };
  window.cdt = cdt;

  const $ = (id) => document.getElementById(id);
  const canvas = $('timeline');
  const wrap = $('timeline-wrap');
  const spacer = $('spacer');
  const tooltip = $('tooltip');
  const ctx = canvas.getContext('2d');

  let meta = null;
  let rows = []; // {track, depth, y, h, label, kind, first}
  let totalH = 0;
  let cssW = 0;
  let cssH = 0;
  let view = { start: 0, end: 1 };
  let duration = 1;
  let data = null; // last /api/slices answer: {lanes: Map("t:d" -> lane)}
  let heap = null; // last /api/heap answer
  let fetchTimer = 0;
  let seq = 0; // number of the latest query
  let inflight = 0;
  let drawQueued = false;
  let mouse = null; // {x, y} over the canvas
  let drag = null;
  const textWidths = new Map();

  // ---- formatting --------------------------------------------------------

  function fmtDur(ns) {
    if (ns === null || ns === undefined) return '\u2014';
    const a = Math.abs(ns);
    if (a < 1e3) return ns + ' ns';
    if (a < 1e6) return (ns / 1e3).toFixed(2) + ' \u00b5s';
    if (a < 1e9) return (ns / 1e6).toFixed(3) + ' ms';
    return (ns / 1e9).toFixed(3) + ' s';
  }

  function fmtBytes(b) {
    if (b === null || b === undefined || b < 0) return '\u2014';
    if (b < 1024) return b + ' B';
    if (b < 1048576) return (b / 1024).toFixed(1) + ' KiB';
    if (b < 1073741824) return (b / 1048576).toFixed(2) + ' MiB';
    return (b / 1073741824).toFixed(2) + ' GiB';
  }

  // Axis label of t for ticks `step` ns apart: in the unit of the window's
  // magnitude (s, ms, us, ns), with the decimals the step needs.
  function fmtTick(t, step) {
    const mag = Math.max(Math.abs(view.start), Math.abs(view.end), step);
    const units = [[1e9, 's'], [1e6, 'ms'], [1e3, '\u00b5s'], [1, 'ns']];
    let u = units[3];
    for (const x of units) {
      if (mag >= x[0]) { u = x; break; }
    }
    const s = step / u[0];
    const dec = s >= 1 ? 0 : Math.min(9, Math.ceil(-Math.log10(s) - 1e-9));
    return (t / u[0]).toFixed(dec) + ' ' + u[1];
  }

  // A DOM element: el('td', {class: 'num'}, 'text' or [children]).
  function el(tag, attrs, content) {
    const e = document.createElement(tag);
    if (attrs) for (const k of Object.keys(attrs)) e.setAttribute(k, attrs[k]);
    if (content === undefined || content === null) return e;
    if (Array.isArray(content)) {
      for (const c of content) if (c !== null && c !== undefined) e.append(c);
    } else if (content instanceof Node) {
      e.append(content);
    } else {
      e.append(String(content));
    }
    return e;
  }

  function setStatus(text, error) {
    const s = $('status');
    s.textContent = text;
    s.className = error ? 'error' : '';
  }

  async function getJSON(url) {
    const r = await fetch(url, { cache: 'no-store' });
    if (!r.ok) throw new Error(url + ': ' + r.status + ' ' + (await r.text()).trim());
    return r.json();
  }

  // ---- colours -----------------------------------------------------------

  function hue(name) {
    let h = 0;
    for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
    return h % 360;
  }

  function colour(kind, name) {
    switch (kind) {
      case 'task': return 'hsl(' + hue(name) + ',55%,62%)';
      case 'region': return 'hsl(' + hue(name) + ',40%,78%)';
      case 'user_task': return 'hsl(' + hue(name) + ',45%,70%)';
      case 'blocked': return '#c5c6cc';
      case 'spin': return '#f3d36b';
      case 'gc': return '#e06666';
      case 'pause': return '#c0392b';
      case 'gc_phase': return '#f6b26b';
      default: return '#999';
    }
  }

  // ---- layout ------------------------------------------------------------

  function buildRows() {
    rows = [];
    let y = AXIS_H + 2;
    for (const t of meta.tracks) {
      if (t.kind === 'heap') {
        rows.push({ track: t.index, depth: 0, y: y, h: HEAP_H, label: t.name, kind: 'heap', first: true });
        y += HEAP_H + GAP;
        continue;
      }
      const n = Math.max(1, t.lanes);
      for (let d = 0; d < n; d++) {
        rows.push({ track: t.index, depth: d, y: y, h: ROW_H, label: d === 0 ? t.name : '', kind: t.kind, first: d === 0 });
        y += ROW_H;
      }
      y += GAP;
    }
    totalH = y;
  }

  function resize() {
    if (wrap.clientWidth === 0) return; // page hidden: keep the last size
    const w = Math.max(LABEL_W + 50, wrap.clientWidth);
    const h = Math.max(AXIS_H + 40, wrap.clientHeight);
    const dpr = window.devicePixelRatio || 1;
    if (w !== cssW || h !== cssH || canvas.width !== Math.round(w * dpr)) {
      cssW = w;
      cssH = h;
      canvas.style.width = w + 'px';
      canvas.style.height = h + 'px';
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(h * dpr);
      spacer.style.height = Math.max(0, totalH - h) + 'px';
      scheduleFetch();
    }
    queueDraw();
  }

  const plotW = () => Math.max(1, cssW - LABEL_W);
  const xOf = (t) => LABEL_W + ((t - view.start) / (view.end - view.start)) * plotW();
  const tOf = (x) => view.start + ((x - LABEL_W) / plotW()) * (view.end - view.start);

  // ---- the window --------------------------------------------------------

  function setView(start, end) {
    let w = end - start;
    const maxW = Math.max(duration * 1.2, 1000);
    if (w < MIN_SPAN_NS) w = MIN_SPAN_NS;
    if (w > maxW) w = maxW;
    const mid = (start + end) / 2;
    start = mid - w / 2;
    const lo = -duration * 0.1 - w * 0.5;
    const hi = duration * 1.1 + w * 0.5;
    if (start < lo) start = lo;
    if (start + w > hi) start = hi - w;
    view = { start: start, end: start + w };
    cdt.view = { start: view.start, end: view.end };
    updateRange();
    queueDraw();
    scheduleFetch();
  }

  function zoomAt(factor, t) {
    const w = view.end - view.start;
    let nw = w * factor;
    if (nw < MIN_SPAN_NS) nw = MIN_SPAN_NS;
    const start = t - (t - view.start) * (nw / w);
    setView(start, start + nw);
  }

  function pan(fraction) {
    const w = view.end - view.start;
    setView(view.start + w * fraction, view.end + w * fraction);
  }

  function resetView() {
    setView(0, Math.max(duration, 1));
  }

  function updateRange() {
    $('range').textContent = fmtDur(Math.round(view.start)) + ' \u2013 ' + fmtDur(Math.round(view.end)) +
      '  (' + fmtDur(Math.round(view.end - view.start)) + ')';
  }

  // ---- queries -----------------------------------------------------------

  function scheduleFetch() {
    if (!meta) return;
    cdt.settled = false;
    clearTimeout(fetchTimer);
    fetchTimer = setTimeout(fetchWindow, FETCH_DELAY_MS);
  }

  async function fetchWindow() {
    fetchTimer = 0;
    const my = ++seq;
    const start = Math.floor(view.start);
    let end = Math.ceil(view.end);
    if (end <= start) end = start + 1;
    const px = Math.max(1, Math.min(meta.max_px, Math.round(plotW())));
    const q = 'start=' + start + '&end=' + end + '&px=' + px;
    inflight++;
    cdt.fetches++;
    try {
      const wantHeap = meta.heap.samples > 0;
      const [s, h] = await Promise.all([
        getJSON('/api/slices?' + q),
        wantHeap ? getJSON('/api/heap?' + q) : Promise.resolve(null),
      ]);
      if (my !== seq) return; // a newer query was sent: drop this answer
      const lanes = new Map();
      for (const l of s.lanes) lanes.set(l.track + ':' + l.depth, l);
      data = { start: s.start, end: s.end, px: s.px, nsPerPx: s.ns_per_px, lanes: lanes, nslices: s.nslices };
      heap = h;
      cdt.px = px;
      setStatus(s.nslices + ' slices, ' + s.nbusy_spans + ' narrower spans in ' + s.nbusy + ' busy blocks');
    } catch (e) {
      cdt.errors++;
      setStatus('error: ' + e.message, true);
    } finally {
      inflight--;
    }
    if (my === seq) {
      draw();
      cdt.ready = true;
      cdt.settled = fetchTimer === 0 && inflight === 0;
    }
  }

  // ---- drawing -----------------------------------------------------------

  function queueDraw() {
    if (drawQueued) return;
    drawQueued = true;
    requestAnimationFrame(() => {
      drawQueued = false;
      draw();
    });
  }

  // name cut to fit maxW px, with an ellipsis; '' if nothing fits.
  function fitText(name, maxW) {
    let w = textWidths.get(name);
    if (w === undefined) {
      w = ctx.measureText(name).width;
      if (textWidths.size > 5000) textWidths.clear();
      textWidths.set(name, w);
    }
    if (w <= maxW) return name;
    let n = Math.floor((name.length * maxW) / w) - 1;
    while (n > 0 && ctx.measureText(name.slice(0, n) + '\u2026').width > maxW) n--;
    return n > 0 ? name.slice(0, n) + '\u2026' : '';
  }

  // Tick times and their spacing: about one per 110 px, 1/2/5 x 10^k ns.
  function ticks() {
    const raw = ((view.end - view.start) / plotW()) * 110;
    const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-9))));
    let step = p;
    for (const m of [1, 2, 5, 10]) {
      if (p * m >= raw) { step = p * m; break; }
    }
    step = Math.max(step, 1);
    const list = [];
    for (let t = Math.ceil(view.start / step) * step; t <= view.end && list.length < 200; t += step) list.push(t);
    return { step: step, list: list };
  }

  // Vertical grid lines and the shade outside the trace, under the rows.
  function drawGrid(tk) {
    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_W, AXIS_H, plotW(), cssH - AXIS_H);
    ctx.clip();
    ctx.strokeStyle = '#e6e7eb';
    ctx.beginPath();
    for (const t of tk.list) {
      const x = Math.round(xOf(t)) + 0.5;
      ctx.moveTo(x, AXIS_H);
      ctx.lineTo(x, cssH);
    }
    ctx.stroke();
    ctx.fillStyle = 'rgba(0,0,0,0.06)';
    const x0 = xOf(0);
    const x1 = xOf(duration);
    if (x0 > LABEL_W) ctx.fillRect(LABEL_W, AXIS_H, x0 - LABEL_W, cssH - AXIS_H);
    if (x1 < cssW) ctx.fillRect(Math.max(LABEL_W, x1), AXIS_H, cssW, cssH - AXIS_H);
    ctx.restore();
  }

  // The time axis on top, over everything.
  function drawAxis(tk) {
    ctx.fillStyle = '#f1f2f5';
    ctx.fillRect(0, 0, cssW, AXIS_H);
    ctx.strokeStyle = '#c9cbd2';
    ctx.beginPath();
    ctx.moveTo(0, AXIS_H + 0.5);
    ctx.lineTo(cssW, AXIS_H + 0.5);
    ctx.stroke();
    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_W, 0, plotW(), AXIS_H);
    ctx.clip();
    ctx.fillStyle = '#44464d';
    ctx.strokeStyle = '#9a9ca4';
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (const t of tk.list) {
      const x = Math.round(xOf(t)) + 0.5;
      ctx.beginPath();
      ctx.moveTo(x, AXIS_H - 6);
      ctx.lineTo(x, AXIS_H);
      ctx.stroke();
      ctx.fillText(fmtTick(t, tk.step), x + 3, AXIS_H / 2);
    }
    ctx.restore();
    ctx.fillStyle = '#44464d';
    ctx.font = '11px system-ui, sans-serif';
    ctx.fillText(data ? fmtDur(data.nsPerPx) + ' / px' : '', 8, AXIS_H / 2);
  }

  function drawLane(row, y, layout, counts) {
    const lane = data && data.lanes.get(row.track + ':' + row.depth);
    if (!lane) return;
    const top = y + 1;
    const h = row.h - 2;
    for (const b of lane.busy) {
      let x0 = xOf(b[0]);
      let x1 = xOf(b[1]);
      if (x1 < LABEL_W || x0 > cssW) continue;
      x0 = Math.max(x0, LABEL_W);
      x1 = Math.min(x1, cssW);
      const w = Math.max(1, x1 - x0);
      ctx.fillStyle = 'rgba(92,96,110,0.55)';
      ctx.fillRect(x0, top + 3, w, h - 6);
      layout.push({ x: x0, y: top, w: w, h: h, track: row.track, depth: row.depth, name: b[2] + ' spans',
        kind: 'busy', ref: b[3], busy: true, count: b[2], start: b[0], end: b[1] });
      counts.busy++;
    }
    ctx.font = '11px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (const s of lane.slices) {
      const [ref, start, dur, kind, name] = s;
      let x0 = xOf(start);
      let x1 = xOf(start + dur);
      if (x1 < LABEL_W || x0 > cssW) continue;
      x0 = Math.max(x0, LABEL_W);
      x1 = Math.min(x1, cssW);
      const w = Math.max(1, x1 - x0);
      ctx.fillStyle = colour(kind, name);
      ctx.fillRect(x0, top, w > 2 ? w - 1 : w, h);
      if (ref === cdt.selected) {
        ctx.strokeStyle = '#1a1a1a';
        ctx.lineWidth = 2;
        ctx.strokeRect(x0 + 1, top + 1, Math.max(1, w - 3), h - 2);
        ctx.lineWidth = 1;
      }
      if (w > 28) {
        const text = fitText(name, w - 8);
        if (text) {
          ctx.fillStyle = kind === 'pause' ? '#fff' : '#15161a';
          ctx.fillText(text, x0 + 4, top + h / 2 + 0.5);
        }
      }
      layout.push({ x: x0, y: top, w: w, h: h, track: row.track, depth: row.depth, name: name, kind: kind,
        ref: ref, busy: false, start: start, dur: dur });
      counts.slices++;
    }
  }

  function drawHeap(row, y) {
    if (!heap || !meta.heap.samples) return;
    const top = y + 3;
    const h = row.h - 6;
    const scale = Math.max(meta.heap.max, 1);
    const yOf = (v) => top + h - (Math.min(v, scale) / scale) * h;
    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_W, y, plotW(), row.h);
    ctx.clip();
    // in use after each column (a step line), filled below
    ctx.beginPath();
    let prev = heap.before ? heap.before[1] : null;
    let x = LABEL_W;
    ctx.moveTo(LABEL_W, top + h);
    if (prev !== null) ctx.lineTo(LABEL_W, yOf(prev));
    for (const p of heap.points) {
      const px = Math.max(LABEL_W, xOf(p[0]));
      if (prev !== null) ctx.lineTo(px, yOf(prev));
      else ctx.lineTo(px, top + h);
      ctx.lineTo(px, yOf(p[3]));
      prev = p[3];
      x = px;
    }
    const last = Math.min(cssW, xOf(duration));
    if (prev !== null && last > x) ctx.lineTo(last, yOf(prev));
    ctx.lineTo(Math.max(x, last), top + h);
    ctx.closePath();
    ctx.fillStyle = 'rgba(61,133,198,0.35)';
    ctx.fill();
    // min..max within each column
    ctx.fillStyle = 'rgba(11,83,148,0.9)';
    for (const p of heap.points) {
      const px = xOf(p[0]);
      const y0 = yOf(p[2]);
      const y1 = yOf(p[1]);
      ctx.fillRect(px, y0, Math.max(1, xOf(p[0] + heap.ns_per_px) - px), Math.max(1, y1 - y0));
    }
    ctx.restore();
    ctx.fillStyle = '#44464d';
    ctx.font = '10px system-ui, sans-serif';
    ctx.textBaseline = 'top';
    ctx.fillText('max ' + fmtBytes(meta.heap.max), LABEL_W + 4, y + 2);
  }

  function draw() {
    if (!meta) return;
    const dpr = canvas.width / cssW;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, cssW, cssH);
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, cssW, cssH);
    const scroll = wrap.scrollTop;
    const layout = [];
    const counts = { slices: 0, busy: 0 };
    // track shading
    let shade = false;
    for (const row of rows) {
      if (row.first) shade = !shade;
      const y = row.y - scroll;
      if (y + row.h < AXIS_H || y > cssH) continue;
      if (shade) {
        ctx.fillStyle = '#f6f7f9';
        ctx.fillRect(0, y, cssW, row.h + (row.kind === 'heap' ? GAP : 0));
      }
    }
    const tk = ticks();
    drawGrid(tk);
    ctx.save();
    ctx.beginPath();
    ctx.rect(LABEL_W, AXIS_H + 1, plotW(), cssH - AXIS_H - 1);
    ctx.clip();
    for (const row of rows) {
      const y = row.y - scroll;
      if (y + row.h < AXIS_H || y > cssH) continue;
      if (row.kind === 'heap') drawHeap(row, y);
      else drawLane(row, y, layout, counts);
    }
    ctx.restore();
    // labels
    ctx.save();
    ctx.beginPath();
    ctx.rect(0, AXIS_H + 1, LABEL_W, cssH - AXIS_H - 1);
    ctx.clip();
    ctx.fillStyle = 'rgba(241,242,245,0.96)';
    ctx.fillRect(0, AXIS_H, LABEL_W, cssH);
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (const row of rows) {
      const y = row.y - scroll;
      if (!row.label || y + row.h < AXIS_H || y > cssH) continue;
      ctx.fillStyle = '#2b2d33';
      ctx.fillText(fitText(row.label, LABEL_W - 14), 8, y + Math.min(row.h, ROW_H) / 2 + 0.5);
    }
    ctx.strokeStyle = '#c9cbd2';
    ctx.beginPath();
    ctx.moveTo(LABEL_W - 0.5, AXIS_H);
    ctx.lineTo(LABEL_W - 0.5, cssH);
    ctx.stroke();
    ctx.restore();
    drawAxis(tk);
    cdt.layout = layout;
    cdt.drawn = counts.slices;
    cdt.busy = counts.busy;
  }

  // ---- interaction -------------------------------------------------------

  function hit(x, y) {
    const l = cdt.layout;
    for (let i = l.length - 1; i >= 0; i--) {
      const r = l[i];
      if (x >= r.x && x < r.x + Math.max(r.w, 2) && y >= r.y && y < r.y + r.h) return r;
    }
    return null;
  }

  function canvasPoint(e) {
    const b = canvas.getBoundingClientRect();
    return { x: e.clientX - b.left, y: e.clientY - b.top };
  }

  canvas.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    const p = canvasPoint(e);
    canvas.focus();
    drag = { x: p.x, y: p.y, start: view.start, end: view.end, moved: false, id: e.pointerId };
    canvas.setPointerCapture(e.pointerId);
  });

  canvas.addEventListener('pointermove', (e) => {
    const p = canvasPoint(e);
    mouse = p;
    if (drag) {
      const dx = p.x - drag.x;
      if (Math.abs(dx) > 3 || Math.abs(p.y - drag.y) > 3) drag.moved = true;
      if (drag.moved) {
        canvas.classList.add('dragging');
        const dt = (dx / plotW()) * (drag.end - drag.start);
        setView(drag.start - dt, drag.end - dt);
        tooltip.hidden = true;
      }
      return;
    }
    showTooltip(e, p);
  });

  canvas.addEventListener('pointerup', (e) => {
    if (!drag) return;
    const p = canvasPoint(e);
    const wasClick = !drag.moved;
    canvas.releasePointerCapture(drag.id);
    canvas.classList.remove('dragging');
    drag = null;
    if (wasClick) click(p);
  });

  canvas.addEventListener('pointerleave', () => {
    mouse = null;
    tooltip.hidden = true;
  });

  canvas.addEventListener('wheel', (e) => {
    if (e.altKey) return; // Alt+wheel scrolls the rows (the default)
    e.preventDefault();
    const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? cssH : 1;
    const dx = e.deltaX * unit;
    const dy = e.deltaY * unit;
    const p = canvasPoint(e);
    if (e.shiftKey || Math.abs(dx) > Math.abs(dy)) {
      pan((e.shiftKey ? dy || dx : dx) / plotW());
    } else {
      const t = p.x >= LABEL_W ? tOf(p.x) : (view.start + view.end) / 2;
      zoomAt(Math.exp(dy * 0.002), t);
    }
  }, { passive: false });

  document.addEventListener('keydown', (e) => {
    if (!$('page-timeline').classList.contains('active')) return;
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    const tag = (e.target && e.target.tagName) || '';
    if (tag === 'INPUT' || tag === 'TEXTAREA') return;
    const at = mouse && mouse.x >= LABEL_W ? tOf(mouse.x) : (view.start + view.end) / 2;
    switch (e.key) {
      case 'w': case 'W': zoomAt(0.8, at); break;
      case 's': case 'S': zoomAt(1.25, at); break;
      case 'a': case 'A': case 'ArrowLeft': pan(-0.15); break;
      case 'd': case 'D': case 'ArrowRight': pan(0.15); break;
      case '0': case 'Home': resetView(); break;
      case 'ArrowUp': wrap.scrollTop -= 3 * ROW_H; break;
      case 'ArrowDown': wrap.scrollTop += 3 * ROW_H; break;
      case 'Escape': select(null); break;
      default: return;
    }
    e.preventDefault();
  });

  wrap.addEventListener('scroll', () => queueDraw());
  new ResizeObserver(() => resize()).observe(wrap);

  function showTooltip(e, p) {
    const r = hit(p.x, p.y);
    if (!r) {
      tooltip.hidden = true;
      return;
    }
    tooltip.textContent = r.busy
      ? r.count + ' spans narrower than a pixel\n' + fmtDur(r.start) + ' \u2013 ' + fmtDur(r.end) + '\nclick to zoom in'
      : r.name + '\n' + r.kind + ', ' + fmtDur(r.dur) + ' at ' + fmtDur(r.start);
    tooltip.hidden = false;
    const x = Math.min(e.clientX + 12, window.innerWidth - tooltip.offsetWidth - 4);
    tooltip.style.left = x + 'px';
    tooltip.style.top = e.clientY + 14 + 'px';
  }

  function click(p) {
    const r = hit(p.x, p.y);
    if (!r) {
      select(null);
      return;
    }
    if (r.busy) {
      const w = r.end - r.start;
      setView(r.start - w * 0.25, r.end + w * 0.25);
      return;
    }
    select(r.ref);
  }

  async function select(ref) {
    cdt.selected = ref;
    cdt.details = null;
    queueDraw();
    const body = $('details-body');
    if (ref === null) {
      body.replaceChildren(el('p', { class: 'hint' }, 'Click a slice of the timeline to see its details.'));
      return;
    }
    try {
      const d = await getJSON('/api/slice?ref=' + ref);
      if (cdt.selected !== ref) return;
      cdt.details = d;
      body.replaceChildren(renderDetails(d));
    } catch (e) {
      body.replaceChildren(el('p', { class: 'hint' }, 'error: ' + e.message));
    }
  }

  function kv(pairs) {
    const t = el('table');
    for (const [k, v] of pairs) {
      if (v === undefined) continue;
      t.append(el('tr', null, [el('th', null, k), el('td', null, v === null ? '\u2014' : String(v))]));
    }
    return t;
  }

  const idLabel = {
    task: 'Task id', blocked: 'Task id', region: 'User task', spin: 'Id', gc: 'Collection',
    pause: 'Collection', gc_phase: 'Collection', user_task: 'User task id',
  };

  function renderDetails(d) {
    const flags = [];
    if (d.first_run) flags.push('first run');
    if (d.unfinished) flags.push('unfinished (closed by the viewer)');
    if (d.from_snapshot) flags.push('from the snapshot');
    if (d.adjusted) flags.push('times adjusted (out-of-order events)');
    const main = kv([
      ['Name', d.name],
      ['Kind', d.kind],
      [idLabel[d.kind] || 'Id', d.id],
      ['Track', d.track_name + (d.depth ? ' (depth ' + d.depth + ')' : '')],
      ['Start', fmtDur(d.start_ns)],
      ['End', fmtDur(d.end_ns)],
      ['Duration', fmtDur(d.duration_ns)],
      ['Thread', d.thread === null ? null : 'M' + d.thread],
      ['Worker', d.worker === null ? null : 'P' + d.worker],
      ['Parent', d.kind === 'task' || d.kind === 'blocked' || d.kind === 'user_task' ? d.parent : undefined],
      ['Task', d.task_name],
      ['Flags', flags.length ? flags.join(', ') : undefined],
    ]);
    main.id = 'details-main';
    const cols = [main];
    if (d.task) {
      const t = d.task;
      cols.push(el('div', null, [el('h2', null, 'Task ' + t.id), kv([
        ['Name', t.name],
        ['Parent', t.parent],
        ['Created', fmtDur(t.create_ns)],
        ['First start', fmtDur(t.first_start_ns)],
        ['Scheduler wait', fmtDur(t.wait_ns)],
        ['Ended', t.ended ? fmtDur(t.end_ns) : 'no (alive at the end)'],
        ['Running', fmtDur(t.exec_ns)],
        ['Blocked', fmtDur(t.blocked_ns) + ' in ' + t.blocks + ' calls'],
      ])]));
    }
    if (d.gc) {
      const g = d.gc;
      cols.push(el('div', null, [el('h2', null, 'Collection ' + g.gc), kv([
        ['Forced', g.forced ? 'yes (cd_gc)' : 'no'],
        ['Duration', fmtDur(g.end_ns - g.begin_ns)],
        ['Stop the world', fmtDur(g.pause_ns)],
        ['Stopping / mark / reclaim', fmtDur(g.stop_ns) + ' / ' + fmtDur(g.mark_ns) + ' / ' + fmtDur(g.reclaim_ns)],
        ['Heap before', fmtBytes(g.heap_before)],
        ['Heap after', fmtBytes(g.heap_after)],
        ['Goal after', fmtBytes(g.goal_after)],
      ])]));
    }
    const zoom = el('button', { type: 'button', class: 'link' }, 'Zoom to it');
    zoom.addEventListener('click', () => {
      const w = Math.max(d.duration_ns, MIN_SPAN_NS);
      setView(d.start_ns - w * 0.1, d.end_ns + w * 0.1);
    });
    return el('div', null, [el('div', { class: 'cols' }, cols), zoom]);
  }

  // ---- stats and lints pages ---------------------------------------------

  const loaded = {};

  function showPage(name) {
    for (const b of document.querySelectorAll('#tabs button')) {
      b.setAttribute('aria-selected', b.dataset.page === name ? 'true' : 'false');
    }
    for (const p of document.querySelectorAll('.page')) {
      p.classList.toggle('active', p.id === 'page-' + name);
    }
    if (name === 'timeline') resize();
    if (name === 'stats' && !loaded.stats) loadStats();
    if (name === 'lints' && !loaded.lints) loadLints();
  }

  for (const b of document.querySelectorAll('#tabs button')) {
    b.addEventListener('click', () => {
      history.replaceState(null, '', b.dataset.page === 'timeline' ? '#' : '#' + b.dataset.page);
      showPage(b.dataset.page);
    });
  }

  function table(id, head, body) {
    const t = el('table', { class: 'data' });
    if (id) t.id = id;
    t.append(el('thead', null, el('tr', null, head.map((h) => el('th', null, h)))));
    const tb = el('tbody');
    for (const r of body) {
      tb.append(el('tr', null, r.map((c) => {
        const num = typeof c === 'number' || (typeof c === 'string' && /^[-\d.]+( ?[a-zA-Z\u00b5%]+)?$/.test(c));
        return el('td', num ? { class: 'num' } : null, c);
      })));
    }
    t.append(tb);
    return t;
  }

  const pct = (v) => (v === null || v === undefined ? '\u2014' : v.toFixed(1) + '%');
  const dist = (d, k) => (d && d.count ? fmtDur(d[k]) : '\u2014');

  function section(title, content) {
    return [el('h3', null, title), content];
  }

  async function loadStats() {
    loaded.stats = true;
    const body = $('stats-body');
    let s;
    try {
      s = await getJSON('/api/stats');
    } catch (e) {
      loaded.stats = false;
      body.replaceChildren(el('p', { class: 'hint' }, 'error: ' + e.message));
      return;
    }
    const out = [el('h1', null, 'Statistics')];
    const tr = s.trace || {};
    const dl = el('dl', { class: 'kv', id: 'stats-trace' });
    for (const [k, v] of [
      ['File', tr.file], ['Duration', fmtDur(tr.duration_ns)], ['Events', tr.events],
      ['Lost events', tr.lost_events], ['Truncated', tr.truncated ? 'yes' : 'no'],
      ['Threads', tr.threads], ['Workers', tr.workers], ['Tasks created', tr.tasks_created],
      ['Worker utilisation', pct(s.utilisation_pct)],
    ]) {
      if (v === undefined) continue;
      dl.append(el('dt', null, k), el('dd', null, String(v)));
    }
    out.push(dl);
    const left = limitPhrases(s.limits);
    if (left.length) {
      out.push(...section('Limits: what these figures leave out',
        table('stats-limits', ['What'], left.map((t) => [t]))));
    }
    if (s.workers && s.workers.length) {
      out.push(...section('Workers', table('stats-workers', ['Worker', 'Running', 'Idle', 'Spinning', 'GC'],
        s.workers.map((w) => ['P' + w.worker, pct(w.running_pct), pct(w.idle_pct), pct(w.spinning_pct), pct(w.gc_pct)]))));
    }
    if (s.parallelism) {
      const p = s.parallelism;
      out.push(...section('Parallelism: ' + (p.average !== undefined ? p.average.toFixed(2) : '?') +
        ' workers running tasks on average', table('stats-parallelism', ['Running', 'Time'],
        (p.histogram || []).map((h) => [h.running, pct(h.pct)]))));
    }
    if (s.tasks && s.tasks.length) {
      out.push(...section('Tasks', table('stats-tasks',
        ['Name', 'Count', 'Unended', 'Total', 'Mean', 'p50', 'p99', 'Max', 'Wait p50', 'Wait p99', 'Wait max', 'Blocked'],
        s.tasks.map((t) => [t.name, t.count, t.unended, dist(t.exec_ns, 'total'), dist(t.exec_ns, 'mean'),
          dist(t.exec_ns, 'p50'), dist(t.exec_ns, 'p99'), dist(t.exec_ns, 'max'), dist(t.wait_ns, 'p50'),
          dist(t.wait_ns, 'p99'), dist(t.wait_ns, 'max'), dist(t.blocked_ns, 'total')]))));
      const reasons = [];
      for (const t of s.tasks) {
        for (const b of t.blocked || []) {
          reasons.push([b.reason, t.name, b.ns.count, fmtDur(b.ns.total), dist(b.ns, 'p50'), dist(b.ns, 'p99'), dist(b.ns, 'max')]);
        }
      }
      if (reasons.length) {
        out.push(...section('Blocked by reason', table('stats-blocked', ['Reason', 'Task', 'Count', 'Total', 'p50', 'p99', 'Max'], reasons)));
      }
    }
    for (const [key, title] of [['user_tasks', 'User tasks'], ['regions', 'Regions']]) {
      const list = s[key];
      if (!list || !list.length) continue;
      out.push(...section(title, table('stats-' + key.replace('_', '-'), ['Name', 'Count', 'Unfinished', 'p50', 'p90', 'p99', 'Max'],
        list.map((u) => [u.name, u.count, u.unfinished, dist(u.latency_ns, 'p50'), dist(u.latency_ns, 'p90'),
          dist(u.latency_ns, 'p99'), dist(u.latency_ns, 'max')]))));
    }
    if (s.gc) {
      const g = s.gc;
      out.push(...section('GC', table('stats-gc', ['Collections', 'Forced', 'Pause p50', 'Pause p99', 'Pause max', 'Total pause', 'Heap before first', 'Heap after last', 'Heap peak'],
        [[g.count, g.forced, dist(g.pause_ns, 'p50'), dist(g.pause_ns, 'p99'), dist(g.pause_ns, 'max'),
          fmtDur(g.pause_total_ns) + (g.pause_pct !== undefined ? ' (' + pct(g.pause_pct) + ')' : ''),
          fmtBytes(g.heap_first_before), fmtBytes(g.heap_last_after), fmtBytes(g.heap_peak)]])));
    }
    if (s.mmu && s.mmu.length) {
      out.push(...section('Minimum mutator utilisation', table('stats-mmu', ['Window', 'MMU'],
        s.mmu.map((m) => [fmtDur(m.window_ns), m.mmu === null ? '\u2014' : (m.mmu * 100).toFixed(1) + '%']))));
    }
    const lints = s.lints || [];
    out.push(el('p', { class: 'hint' }, lints.length + ' lint' + (lints.length === 1 ? '' : 's') + ' fired: see the Lints page.'));
    body.replaceChildren(...out);
  }

  async function loadLints() {
    loaded.lints = true;
    const body = $('lints-body');
    let l;
    try {
      l = await getJSON('/api/lints');
    } catch (e) {
      loaded.lints = false;
      body.replaceChildren(el('p', { class: 'hint' }, 'error: ' + e.message));
      return;
    }
    const out = [el('h1', null, 'Lints')];
    if (!l.lints.length) out.push(el('p', { class: 'ok' }, 'No lint fired: nothing in this trace matches a known problem.'));
    for (const x of l.lints) {
      out.push(el('div', { class: 'lint' }, [
        el('p', null, [el('span', { class: 'id' }, '[' + x.id + '] '), x.summary]),
        el('p', null, [el('span', { class: 'label' }, 'evidence: '), x.evidence]),
        el('p', null, [el('span', { class: 'label' }, 'next: '), x.next]),
      ]));
    }
    body.replaceChildren(...out);
  }

  // ---- limits --------------------------------------------------------------

  // What the server's memory limits left out (meta.limits and
  // meta.dropped_spans, stats' "limits"), as "N label" phrases; empty when
  // nothing was.
  const LIMIT_LABELS = [
    ['tasks_forgotten', 'tasks forgotten (too many alive at once)'],
    ['threads_forgotten', 'threads forgotten (too many alive at once)'],
    ['user_tasks_forgotten', 'user tasks ended early (too many open)'],
    ['spans_not_shown', 'spans left out (nested too deep or too many open)'],
    ['workers_ignored', 'events of workers past the first 1024 ignored'],
    ['events_forced', 'events delivered before their frontier'],
    ['events_out_of_order', 'events out of time order'],
    ['values_outside_percentiles', 'durations left out of the percentiles'],
    ['reasons_other', 'blocking calls under the reason "(other)"'],
  ];
  function limitPhrases(lim) {
    const out = [];
    for (const [k, label] of LIMIT_LABELS) if (lim && lim[k]) out.push(lim[k] + ' ' + label);
    return out;
  }

  // ---- start -------------------------------------------------------------

  async function start() {
    try {
      meta = await getJSON('/api/meta');
    } catch (e) {
      setStatus('error: ' + e.message, true);
      return;
    }
    cdt.meta = meta;
    duration = Math.max(meta.duration_ns, 1);
    $('file').textContent = meta.file;
    const left = limitPhrases(meta.limits);
    if (meta.dropped_spans) left.unshift(meta.dropped_spans + ' spans not drawn');
    if (left.length) {
      $('limits').textContent = 'left out: ' + left.join('; ');
      $('limits').hidden = false;
    }
    document.title = 'cdebug-trace: ' + meta.file.split('/').pop();
    buildRows();
    view = { start: 0, end: duration };
    cdt.view = { start: 0, end: duration };
    updateRange();
    resize();
    scheduleFetch();
    const page = location.hash.slice(1);
    showPage(page === 'stats' || page === 'lints' ? page : 'timeline');
  }

  start();
})();
