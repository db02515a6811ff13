// tests/browser/view_test.mjs - drives `cdebug-trace view` in a real headless
// Chromium (Debian's /usr/bin/chromium, through playwright-core: no browser
// download) and checks what a user sees.
//
//   node view_test.mjs URL OUTDIR [--slices=N] [--busy=N] [--click=NAME:ID]
//                      [--stats-task=NAME:COUNT] [--lint=ID]
//
// URL is the one the viewer printed; OUTDIR receives timeline.png,
// zoomed.png, stats.png and lints.png (and failure.png on a failure). The
// expectations come from the caller, which knows the trace it served
// (tests/integration/test_trace_view.sh). Exit 0 when every check passed,
// 1 with a "FAIL:" line otherwise. Every wait is bounded.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const positional = args.filter((a) => !a.startsWith('--'));
const opt = Object.fromEntries(
  args.filter((a) => a.startsWith('--')).map((a) => {
    const i = a.indexOf('=');
    return i < 0 ? [a.slice(2), 'true'] : [a.slice(2, i), a.slice(i + 1)];
  }),
);
if (positional.length !== 2) {
  console.error('usage: node view_test.mjs URL OUTDIR [--slices=N] [--busy=N] [--click=NAME:ID] ' +
    '[--stats-task=NAME:COUNT] [--lint=ID]');
  process.exit(2);
}
const [url, outdir] = positional;
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const WAIT = 30000; // ms, any single wait

let browser = null;
let page = null;
const pageErrors = [];

function check(cond, what) {
  if (!cond) throw new Error(what);
  console.log('  ok: ' + what);
}

// Waits until the page has drawn the answer for its current window.
async function settled(what) {
  await page.waitForFunction(() => window.cdt && window.cdt.ready && window.cdt.settled, null,
    { timeout: WAIT }).catch(() => { throw new Error('timeline never settled: ' + what); });
}

const cdt = () => page.evaluate(() => ({
  drawn: window.cdt.drawn, busy: window.cdt.busy, view: window.cdt.view, px: window.cdt.px,
  fetches: window.cdt.fetches, errors: window.cdt.errors,
}));

async function main() {
  mkdirSync(outdir, { recursive: true });
  browser = await chromium.launch({
    executablePath,
    headless: true,
    timeout: 60000,
    // root in a container: no user namespaces for the sandbox
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  page.setDefaultTimeout(WAIT);
  page.on('pageerror', (e) => pageErrors.push('page error: ' + e.message));
  page.on('console', (m) => { if (m.type() === 'error') pageErrors.push('console: ' + m.text()); });

  console.log('view_test: loading ' + url);
  const resp = await page.goto(url, { waitUntil: 'load' });
  check(resp && resp.status() === 200, 'GET / answers 200');
  await settled('first load');
  let s = await cdt();
  console.log('  window ' + JSON.stringify(s.view) + ' at ' + s.px + ' px: ' + s.drawn + ' slices, ' +
    s.busy + ' busy blocks drawn');

  // The same query from the page's own window and width: what the server
  // sent is what was drawn.
  const api = await page.evaluate(async () => {
    const v = window.cdt.view;
    const r = await fetch('/api/slices?start=' + Math.floor(v.start) + '&end=' + Math.ceil(v.end) +
      '&px=' + window.cdt.px);
    return r.json();
  });
  check(s.drawn === api.nslices, `slices drawn (${s.drawn}) = slices the server sent (${api.nslices})`);
  check(s.busy === api.nbusy, `busy blocks drawn (${s.busy}) = busy blocks sent (${api.nbusy})`);
  if (opt.slices) check(s.drawn === Number(opt.slices), `${opt.slices} slices drawn in the whole trace (got ${s.drawn})`);
  if (opt.busy) check(s.busy === Number(opt.busy), `${opt.busy} busy blocks drawn (got ${s.busy})`);
  await page.screenshot({ path: join(outdir, 'timeline.png') });

  // Click a slice: its details appear.
  if (opt.click) {
    const [name, id] = opt.click.split(':');
    const target = await page.evaluate((n) => {
      const l = window.cdt.layout.filter((r) => !r.busy && r.name === n && r.kind === 'task' && r.w >= 6);
      l.sort((a, b) => a.start - b.start || a.track - b.track);
      return l[0] || null;
    }, name);
    check(target !== null, `a "${name}" task slice is drawn`);
    const box = await page.locator('#timeline').boundingBox();
    await page.mouse.click(box.x + target.x + target.w / 2, box.y + target.y + target.h / 2);
    await page.waitForFunction((ref) => window.cdt.details && window.cdt.details.ref === ref, target.ref,
      { timeout: WAIT });
    const text = await page.locator('#details-body').innerText();
    check(text.includes(name), `details panel names the clicked slice "${name}"`);
    check(new RegExp('Task id\\s+' + id + '\\b').test(text), `details panel shows task id ${id}`);
    const d = await page.evaluate(() => window.cdt.details);
    check(d.name === name && String(d.id) === id && d.task && String(d.task.id) === id,
      `/api/slice details: ${d.kind} "${d.name}" id ${d.id} on ${d.track_name}`);
    await page.screenshot({ path: join(outdir, 'selected.png') });
  }

  // Keyboard zoom (W) narrows the window; the server sends that window.
  const before = (await cdt()).view;
  await page.locator('#timeline').focus();
  await page.mouse.move(10, 10); // keys zoom around the centre, not the pointer
  for (let i = 0; i < 4; i++) await page.keyboard.press('w');
  await settled('after W');
  s = await cdt();
  const wBefore = before.end - before.start;
  const wAfter = s.view.end - s.view.start;
  check(wAfter < wBefore * 0.5, `W zooms in (window ${wBefore} -> ${Math.round(wAfter)} ns)`);
  check(s.errors === 0, 'no failed query');

  // Drag pans.
  const box = await page.locator('#timeline').boundingBox();
  const v0 = s.view;
  await page.mouse.move(box.x + box.width / 2, box.y + 60);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width / 2 - 200, box.y + 60, { steps: 5 });
  await page.mouse.up();
  await settled('after drag');
  s = await cdt();
  check(s.view.start > v0.start, 'dragging left moves the window later');

  // A busy block: clicking it zooms into it, where its spans are drawn one
  // by one (the server answers at the new resolution).
  await page.keyboard.press('0');
  await settled('after 0');
  const blk = await page.evaluate(() => window.cdt.layout.find((r) => r.busy) || null);
  if (opt.busy && Number(opt.busy) > 0) {
    check(blk !== null, 'a busy block is drawn');
    const b2 = await page.locator('#timeline').boundingBox();
    await page.mouse.click(b2.x + blk.x + Math.max(blk.w, 1) / 2, b2.y + blk.y + blk.h / 2);
    await settled('after clicking a busy block');
    const inner = await page.evaluate((track) => window.cdt.layout.filter((r) => !r.busy && r.track === track).length,
      blk.track);
    check(inner >= Math.min(blk.count, 10), `zoomed into the busy block: ${inner} of its spans drawn one by one`);
    await page.screenshot({ path: join(outdir, 'zoomed.png') });
    await page.keyboard.press('0');
    await settled('after 0 again');
    s = await cdt();
    if (opt.slices) check(s.drawn === Number(opt.slices), 'key 0 shows the whole trace again');
  }

  // Stats page.
  await page.getByRole('tab', { name: 'Stats' }).click();
  await page.locator('#stats-tasks').waitFor({ timeout: WAIT });
  if (opt['stats-task']) {
    const [name, count] = opt['stats-task'].split(':');
    const cells = await page.locator('#stats-tasks tbody tr').evaluateAll((trs) =>
      trs.map((tr) => Array.from(tr.cells).map((c) => c.textContent)));
    const row = cells.find((c) => c[0] === name);
    check(row !== undefined, `Stats page lists task "${name}"`);
    check(row[1] === count, `Stats page: ${name} count is ${count} (got ${row[1]})`);
  }
  await page.screenshot({ path: join(outdir, 'stats.png'), fullPage: true });

  // Lints page.
  await page.getByRole('tab', { name: 'Lints' }).click();
  await page.locator('#lints-body h1').waitFor({ timeout: WAIT });
  const lints = await page.locator('#lints-body').innerText();
  if (opt.lint) check(lints.includes('[' + opt.lint + ']'), `Lints page shows [${opt.lint}]`);
  await page.screenshot({ path: join(outdir, 'lints.png'), fullPage: true });

  // Back to the timeline: still drawn.
  await page.getByRole('tab', { name: 'Timeline' }).click();
  await settled('back on the timeline');
  check(pageErrors.length === 0, 'no error in the page: ' + (pageErrors.join('; ') || 'none'));
}

const guard = setTimeout(() => {
  console.error('FAIL: view_test timed out after 180 s');
  process.exit(1);
}, 180000);

let code = 0;
try {
  await main();
  console.log('view_test: ok');
} catch (e) {
  code = 1;
  console.error('FAIL: ' + e.message);
  if (pageErrors.length) console.error('page errors: ' + pageErrors.join('; '));
  if (page) await page.screenshot({ path: join(outdir, 'failure.png') }).catch(() => {});
} finally {
  if (browser) await browser.close().catch(() => {});
  clearTimeout(guard);
}
process.exit(code);
