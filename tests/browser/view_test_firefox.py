#!/usr/bin/env python3
"""Drives `cdebug-trace view` in a real headless Firefox (Debian's stock
firefox-esr) and checks what a user sees: the Firefox half of
tests/browser/view_test.mjs, which drives Chromium.

    view_test_firefox.py URL OUTDIR --profile=DIR [--firefox=PATH]
                         [--slices=N] [--busy=N] [--click=NAME:ID]
                         [--stats-task=NAME:COUNT] [--lint=ID]

Playwright cannot drive a stock Firefox (it needs its own patched build), so
this script speaks Marionette, the remote protocol built into every Firefox
(the one geckodriver uses), with the Python standard library only: a TCP
socket carrying "LENGTH:JSON" messages, [0, id, command, params] requests and
[1, id, error, result] answers. Firefox is started with --marionette on a
fresh profile in DIR (which must not exist; the caller's temp dir), with
marionette.port=0, so it listens on a free port that it writes to
DIR/MarionetteActivePort; HOME and TMPDIR should point into the caller's
temp dir too (the test script does that), so nothing leaks between runs.

The checks: the page draws exactly the slices and busy blocks the server
sends for its window (and, with --slices/--busy, the numbers the caller
expects); the screenshot shows each drawn task slice in the colour app.js
gives its name (decoded from the PNG Firefox renders: a blank or broken page
cannot pass); a click on a slice shows its details; W and the wheel zoom,
dragging pans, clicking a busy block zooms into it; the Stats and Lints pages
show the expected task count and lint; and Firefox's console holds no error
from the page (uncaught exceptions, rejected promises, CSP violations), read
from its console service in the browser's chrome context.

OUTDIR receives timeline.png, selected.png, zoomed.png, stats.png, lints.png
(failure.png on a failure). Exit 0 when every check passed, 1 with a "FAIL:"
line otherwise, 2 for bad usage. Every wait is bounded; the whole run is
bounded by a 240 s alarm.
"""
import base64
import colorsys
import json
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import time
import zlib

WAIT = 30.0  # s, any single wait in the page
START_WAIT = 120.0  # s, Firefox's start (a loaded machine, a cold disk)
TOTAL = 240  # s, the whole run
WIDTH, HEIGHT = 1400, 900  # px, the page's viewport (as view_test.mjs)


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)
    print("  ok: " + what, flush=True)


# ---- Marionette ------------------------------------------------------------


class Marionette:
    """A minimal Marionette client: one connection, one command at a time."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.buf = b""
        self.id = 0
        hello = self._recv()
        if hello.get("applicationType") != "gecko":
            raise Fail("not a Marionette server: %r" % (hello,))

    def _recv(self):
        while b":" not in self.buf:
            self._fill()
        head, rest = self.buf.split(b":", 1)
        n = int(head)
        self.buf = rest
        while len(self.buf) < n:
            self._fill()
        msg, self.buf = self.buf[:n], self.buf[n:]
        return json.loads(msg)

    def _fill(self):
        data = self.sock.recv(1 << 16)
        if not data:
            raise Fail("Firefox closed the Marionette connection")
        self.buf += data

    def cmd(self, name, params=None):
        """Sends one command, returns its result; raises on a WebDriver error."""
        self.id += 1
        data = json.dumps([0, self.id, name, params or {}]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            r = self._recv()
            if r[0] == 1 and r[1] == self.id:
                if r[2]:
                    err = r[2]
                    raise Fail("%s: %s: %s" % (name, err.get("error"), err.get("message")))
                return r[3]

    def js(self, script, *args):
        """Runs script (a function body) in the page; returns its value."""
        return self.cmd("WebDriver:ExecuteScript", {"script": script, "args": list(args)})["value"]

    def actions(self, *sources):
        self.cmd("WebDriver:PerformActions", {"actions": list(sources)})
        self.cmd("WebDriver:ReleaseActions")


def mouse(*steps):
    return {"type": "pointer", "id": "mouse", "parameters": {"pointerType": "mouse"},
            "actions": list(steps)}


def move(x, y, duration=0):
    return {"type": "pointerMove", "origin": "viewport", "x": int(round(x)), "y": int(round(y)),
            "duration": duration}


def click_at(m, x, y):
    m.actions(mouse(move(x, y), {"type": "pointerDown", "button": 0},
                    {"type": "pointerUp", "button": 0}))


def press(m, key):
    m.actions({"type": "key", "id": "kbd",
               "actions": [{"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]})


# ---- PNG ---------------------------------------------------------------------


def png_decode(data, rows):
    """(width, height, pixel(x, y) -> (r, g, b)) of an 8-bit RGB or RGBA,
    non-interlaced PNG (what Firefox writes), decoding the first `rows` rows
    only (a row's filter needs the one above it)."""
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise Fail("the screenshot is not a PNG")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + n
    w, h, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in (2, 6) or interlace != 0:
        raise Fail("screenshot PNG: depth %d, colour type %d, interlace %d: not handled"
                   % (depth, ctype, interlace))
    bpp = 3 if ctype == 2 else 4
    stride = w * bpp
    raw = zlib.decompress(b"".join(idat))
    prev = bytearray(stride)
    out = []
    for y in range(min(rows, h)):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 255
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        elif f != 0:
            raise Fail("screenshot PNG: bad filter %d in row %d" % (f, y))
        out.append(line)
        prev = line

    def pixel(x, y):
        o = x * bpp
        return tuple(out[y][o:o + 3])

    return w, h, pixel


def task_colour(name):
    """The colour app.js fills a task slice with: hsl(hue(name), 55%, 62%),
    hue the string's 31-hash mod 360 (computed here independently)."""
    hv = 0
    units = name.encode("utf-16-le")  # charCodeAt: UTF-16 code units
    for (u,) in struct.iter_unpack("<H", units):
        hv = (hv * 31 + u) & 0xFFFFFFFF
    r, g, b = colorsys.hls_to_rgb((hv % 360) / 360.0, 0.62, 0.55)
    return tuple(int(round(v * 255)) for v in (r, g, b))


# ---- the page ----------------------------------------------------------------

CDT = ("const c = window.cdt; return c ? {ready: c.ready, settled: c.settled, drawn: c.drawn, "
       "busy: c.busy, view: c.view, px: c.px, fetches: c.fetches, errors: c.errors} : null;")


def wait_for(m, script, what, *args):
    deadline = time.monotonic() + WAIT
    while True:
        v = m.js(script, *args)
        if v:
            return v
        if time.monotonic() > deadline:
            raise Fail("%s: not within %d s" % (what, WAIT))
        time.sleep(0.1)


def settled(m, what):
    wait_for(m, "return !!(window.cdt && window.cdt.ready && window.cdt.settled);",
             "timeline settled " + what)
    return m.js(CDT)


def screenshot(m, path):
    png = base64.b64decode(m.cmd("WebDriver:TakeScreenshot", {"full": False})["value"])
    with open(path, "wb") as f:
        f.write(png)
    return png


def canvas_box(m):
    return m.js("const b = document.getElementById('timeline').getBoundingClientRect();"
                "return {x: b.left, y: b.top, w: b.width, h: b.height};")


def page_errors(m, base):
    """Errors Firefox's console service holds for the page's URLs: uncaught
    exceptions, rejected promises, CSP violations, failed loads."""
    m.cmd("Marionette:SetContext", {"value": "chrome"})
    try:
        return m.js(
            "const base = arguments[0]; const out = [];"
            "for (const msg of Services.console.getMessageArray()) {"
            "  if (!(msg instanceof Ci.nsIScriptError)) continue;"
            "  if (msg.flags & (Ci.nsIScriptError.warningFlag | Ci.nsIScriptError.infoFlag)) continue;"
            "  if (!msg.sourceName.startsWith(base)) continue;"
            "  out.push(msg.category + ': ' + msg.errorMessage + ' (' + msg.sourceName + ':' + msg.lineNumber + ')');"
            "}"
            "return out;", base)
    finally:
        m.cmd("Marionette:SetContext", {"value": "content"})


def run_checks(m, url, outdir, opt):
    # The window: its inner size is the viewport view_test.mjs uses.
    m.cmd("WebDriver:SetWindowRect", {"width": WIDTH, "height": HEIGHT})
    print("view_test_firefox: loading " + url, flush=True)
    m.cmd("WebDriver:Navigate", {"url": url})
    inner = m.js("return [window.innerWidth, window.innerHeight, window.outerWidth, window.outerHeight];")
    if inner[:2] != [WIDTH, HEIGHT]:
        m.cmd("WebDriver:SetWindowRect", {"width": WIDTH + inner[2] - inner[0],
                                          "height": HEIGHT + inner[3] - inner[1]})
        wait_for(m, "return window.innerWidth === arguments[0] && window.innerHeight === arguments[1];",
                 "viewport %dx%d" % (WIDTH, HEIGHT), WIDTH, HEIGHT)
    check(m.js("return navigator.userAgent;").find("Firefox/") >= 0, "the browser is Firefox: "
          + m.js("return navigator.userAgent;"))
    check(m.js("return !!document.getElementById('timeline');"), "the page has the timeline canvas")
    s = settled(m, "after the first load")
    print("  window %s at %d px: %d slices, %d busy blocks drawn"
          % (json.dumps(s["view"]), s["px"], s["drawn"], s["busy"]), flush=True)

    # The same query from the page's own window and width: what the server
    # sent is what was drawn.
    api = m.cmd("WebDriver:ExecuteAsyncScript", {"script": (
        "const done = arguments[arguments.length - 1]; const v = window.cdt.view;"
        "fetch('/api/slices?start=' + Math.floor(v.start) + '&end=' + Math.ceil(v.end) + '&px=' + window.cdt.px)"
        ".then((r) => r.json()).then((j) => done({nslices: j.nslices, nbusy: j.nbusy}),"
        " (e) => done({error: String(e)}));"), "args": []})["value"]
    check("error" not in api, "the page's own query answers: %r" % (api,))
    check(s["drawn"] == api["nslices"],
          "slices drawn (%d) = slices the server sent (%d)" % (s["drawn"], api["nslices"]))
    check(s["busy"] == api["nbusy"],
          "busy blocks drawn (%d) = busy blocks sent (%d)" % (s["busy"], api["nbusy"]))
    if "slices" in opt:
        check(s["drawn"] == int(opt["slices"]),
              "%s slices drawn in the whole trace (got %d)" % (opt["slices"], s["drawn"]))
    if "busy" in opt:
        check(s["busy"] == int(opt["busy"]), "%s busy blocks drawn (got %d)" % (opt["busy"], s["busy"]))

    # The screenshot shows the slices: each task slice wide enough has, just
    # inside its top-left corner (left of its label, above the text), the
    # colour of its name.
    box = canvas_box(m)
    tasks = m.js("return window.cdt.layout.filter((r) => !r.busy && r.kind === 'task' && r.w >= 8)"
                 ".map((r) => [r.x, r.y, r.w, r.h, r.name]);")
    check(len(tasks) >= 5, "%d task slices at least 8 px wide to look at" % len(tasks))
    rows = int(box["y"] + max(t[1] + t[3] for t in tasks)) + 2
    # Firefox composites a canvas after the script drew it, and a loaded
    # machine's software compositor can hand the first screenshots over
    # before that (seen: "RenderCompositorSWGL failed mapping default
    # framebuffer", an all-background image). So: after two animation
    # frames, up to 10 screenshots 0.3 s apart; the check is on the last.
    for attempt in range(10):
        m.cmd("WebDriver:ExecuteAsyncScript", {"script": (
            "const done = arguments[arguments.length - 1];"
            "requestAnimationFrame(() => requestAnimationFrame(() => done(true)));"), "args": []})
        png = screenshot(m, os.path.join(outdir, "timeline.png"))
        w, h, pixel = png_decode(png, rows)
        bad = []
        for x, y, _, _, name in tasks:
            px, py = int(box["x"] + x) + 2, int(box["y"] + y) + 2
            got, want = pixel(px, py), task_colour(name)
            if max(abs(a - b) for a, b in zip(got, want)) > 4:
                bad.append("%s at (%d,%d): rgb%r, want rgb%r" % (name, px, py, got, want))
        if not bad:
            break
        time.sleep(0.3)
    if attempt > 0:
        print("  (screenshot taken %d times before the canvas showed)" % (attempt + 1), flush=True)
    check((w, h) == (WIDTH, HEIGHT), "timeline.png is %dx%d (want %dx%d)" % (w, h, WIDTH, HEIGHT))
    check(not bad, "the screenshot shows all %d task slices in their colours%s"
          % (len(tasks), ": " + "; ".join(bad[:5]) if bad else ""))
    names = sorted(set(t[4] for t in tasks))
    check(len(names) >= 3, "task slices of %d names on screen: %s" % (len(names), ", ".join(names)))

    # Click a slice: its details appear.
    if "click" in opt:
        name, tid = opt["click"].split(":")
        target = m.js(
            "const l = window.cdt.layout.filter((r) => !r.busy && r.name === arguments[0] &&"
            " r.kind === 'task' && r.w >= 6);"
            "l.sort((a, b) => a.start - b.start || a.track - b.track); return l[0] || null;", name)
        check(target is not None, 'a "%s" task slice is drawn' % name)
        click_at(m, box["x"] + target["x"] + target["w"] / 2, box["y"] + target["y"] + target["h"] / 2)
        wait_for(m, "return !!(window.cdt.details && window.cdt.details.ref === arguments[0]);",
                 "the details of the clicked slice", target["ref"])
        text = m.js("return document.getElementById('details-body').innerText;")
        check(name in text, 'details panel names the clicked slice "%s"' % name)
        check(re.search(r"Task id\s+" + tid + r"\b", text) is not None,
              "details panel shows task id " + tid)
        d = m.js("return window.cdt.details;")
        check(d["name"] == name and str(d["id"]) == tid and d.get("task") and str(d["task"]["id"]) == tid,
              '/api/slice details: %s "%s" id %s on %s' % (d["kind"], d["name"], d["id"], d["track_name"]))
        screenshot(m, os.path.join(outdir, "selected.png"))

    # Keyboard zoom (W) narrows the window; the server sends that window.
    before = m.js(CDT)["view"]
    m.js("document.getElementById('timeline').focus();")
    m.actions(mouse(move(10, 10)))  # keys zoom around the centre, not the pointer
    for _ in range(4):
        press(m, "w")
    s = settled(m, "after W")
    wb, wa = before["end"] - before["start"], s["view"]["end"] - s["view"]["start"]
    check(wa < wb * 0.5, "W zooms in (window %d -> %d ns)" % (wb, wa))
    check(s["errors"] == 0, "no failed query")

    # Drag pans.
    box = canvas_box(m)
    v0 = s["view"]
    cx, cy = box["x"] + box["w"] / 2, box["y"] + 60
    m.actions(mouse(move(cx, cy), {"type": "pointerDown", "button": 0}, move(cx - 100, cy, 100),
                    move(cx - 200, cy, 100), {"type": "pointerUp", "button": 0}))
    s = settled(m, "after drag")
    check(s["view"]["start"] > v0["start"], "dragging left moves the window later")

    # The wheel (Firefox's own wheel events) zooms in around the pointer.
    v0 = s["view"]
    m.actions({"type": "wheel", "id": "wheel", "actions": [
        {"type": "scroll", "origin": "viewport", "x": int(cx), "y": int(cy), "deltaX": 0,
         "deltaY": -300}]})
    s = settled(m, "after the wheel")
    check(s["view"]["end"] - s["view"]["start"] < (v0["end"] - v0["start"]) * 0.8,
          "the wheel zooms in (window %d -> %d ns)"
          % (v0["end"] - v0["start"], s["view"]["end"] - s["view"]["start"]))

    # A busy block: clicking it zooms into it, where its spans are drawn one
    # by one (the server answers at the new resolution).
    press(m, "0")
    s = settled(m, "after 0")
    if "busy" in opt and int(opt["busy"]) > 0:
        blk = m.js("return window.cdt.layout.find((r) => r.busy) || null;")
        check(blk is not None, "a busy block is drawn")
        click_at(m, box["x"] + blk["x"] + max(blk["w"], 1) / 2, box["y"] + blk["y"] + blk["h"] / 2)
        wait_for(m, "return window.cdt.view.end - window.cdt.view.start < arguments[0];",
                 "zoom into the busy block", (s["view"]["end"] - s["view"]["start"]) / 2)
        settled(m, "after clicking a busy block")
        inner = m.js("return window.cdt.layout.filter((r) => !r.busy && r.track === arguments[0]).length;",
                     blk["track"])
        check(inner >= min(blk["count"], 10),
              "zoomed into the busy block: %d of its spans drawn one by one" % inner)
        screenshot(m, os.path.join(outdir, "zoomed.png"))
        press(m, "0")
        s = settled(m, "after 0 again")
        if "slices" in opt:
            check(s["drawn"] == int(opt["slices"]), "key 0 shows the whole trace again")

    # Stats page.
    tab = m.cmd("WebDriver:FindElement", {"using": "css selector",
                                          "value": "#tabs button[data-page=stats]"})["value"]
    m.cmd("WebDriver:ElementClick", {"id": list(tab.values())[0]})
    wait_for(m, "return !!document.getElementById('stats-tasks');", "the Stats page's task table")
    if "stats-task" in opt:
        name, count = opt["stats-task"].split(":")
        cells = m.js("return Array.from(document.querySelectorAll('#stats-tasks tbody tr'))"
                     ".map((tr) => Array.from(tr.cells).map((c) => c.textContent));")
        row = next((c for c in cells if c[0] == name), None)
        check(row is not None, 'Stats page lists task "%s"' % name)
        check(row[1] == count, "Stats page: %s count is %s (got %s)" % (name, count, row[1]))
    screenshot(m, os.path.join(outdir, "stats.png"))

    # Lints page.
    tab = m.cmd("WebDriver:FindElement", {"using": "css selector",
                                          "value": "#tabs button[data-page=lints]"})["value"]
    m.cmd("WebDriver:ElementClick", {"id": list(tab.values())[0]})
    wait_for(m, "return !!document.querySelector('#lints-body h1');", "the Lints page")
    lints = m.js("return document.getElementById('lints-body').innerText;")
    if "lint" in opt:
        check("[" + opt["lint"] + "]" in lints, "Lints page shows [%s]" % opt["lint"])
    screenshot(m, os.path.join(outdir, "lints.png"))

    # Back to the timeline: still drawn; nothing went wrong in the page.
    tab = m.cmd("WebDriver:FindElement", {"using": "css selector",
                                          "value": "#tabs button[data-page=timeline]"})["value"]
    m.cmd("WebDriver:ElementClick", {"id": list(tab.values())[0]})
    s = settled(m, "back on the timeline")
    check(s["errors"] == 0, "no failed query")
    errs = page_errors(m, url)
    check(not errs, "no error in Firefox's console for the page: " + ("; ".join(errs) or "none"))


# ---- Firefox ---------------------------------------------------------------

PREFS = {
    "marionette.port": 0,  # a free port, written to MarionetteActivePort
    # a quiet, offline browser: no first-run pages, updates, telemetry,
    # experiments or safe-browsing downloads
    "browser.shell.checkDefaultBrowser": False,
    "browser.startup.homepage_override.mstone": "ignore",
    "app.update.disabledForTesting": True,
    "app.normandy.enabled": False,
    "messaging-system.rsexperimentloader.enabled": False,
    "datareporting.policy.dataSubmissionEnabled": False,
    "toolkit.telemetry.reportingpolicy.firstRun": False,
    "browser.safebrowsing.update.enabled": False,
    "network.captive-portal-service.enabled": False,
    "network.connectivity-service.enabled": False,
    "extensions.update.enabled": False,
}


def start_firefox(firefox, profile, log):
    """Starts Firefox on a new profile; returns (process, port)."""
    os.makedirs(profile)
    with open(os.path.join(profile, "user.js"), "w") as f:
        for k, v in PREFS.items():
            f.write("user_pref(%s, %s);\n" % (json.dumps(k), json.dumps(v)))
    env = dict(os.environ, MOZ_CRASHREPORTER_DISABLE="1")
    # -remote-allow-system-access: the chrome context, to read the console
    proc = subprocess.Popen([firefox, "--headless", "--marionette", "-remote-allow-system-access",
                             "-no-remote", "--profile", profile, "about:blank"],
                            stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                            start_new_session=True)
    # for the caller's cleanup, should this script be killed before it
    # stops Firefox itself
    with open(os.path.join(profile, "firefox.pid"), "w") as f:
        f.write("%d\n" % proc.pid)
    portfile = os.path.join(profile, "MarionetteActivePort")
    deadline = time.monotonic() + START_WAIT
    while True:
        try:
            with open(portfile) as f:
                text = f.read().strip()
            if text:
                return proc, int(text)
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            raise Fail("Firefox exited (status %d) before listening; see %s" % (proc.returncode, log.name))
        if time.monotonic() > deadline:
            raise Fail("Firefox did not start Marionette within %d s" % START_WAIT)
        time.sleep(0.2)


def stop_firefox(proc, m):
    """Quits Firefox (Marionette:Quit), then kills its process group if it
    is still there after 30 s."""
    if m is not None:
        try:
            m.sock.settimeout(30)
            m.cmd("Marionette:Quit")
        except Exception:
            pass
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # content processes left behind
    except ProcessLookupError:
        pass
    if proc.poll() is None:
        proc.wait(timeout=30)


def main(argv):
    pos = [a for a in argv if not a.startswith("--")]
    opt = {}
    for a in argv:
        if a.startswith("--"):
            k, _, v = a[2:].partition("=")
            opt[k] = v
    known = {"profile", "firefox", "slices", "busy", "click", "stats-task", "lint"}
    if len(pos) != 2 or "profile" not in opt or set(opt) - known:
        print("usage: view_test_firefox.py URL OUTDIR --profile=DIR [--firefox=PATH] [--slices=N] "
              "[--busy=N] [--click=NAME:ID] [--stats-task=NAME:COUNT] [--lint=ID]", file=sys.stderr)
        return 2
    url, outdir = pos
    os.makedirs(outdir, exist_ok=True)
    firefox = opt.get("firefox", "firefox-esr")

    def alarm(signum, frame):
        raise Fail("view_test_firefox timed out after %d s" % TOTAL)

    def term(signum, frame):
        raise Fail("view_test_firefox: killed by signal %d" % signum)

    signal.signal(signal.SIGALRM, alarm)
    # `timeout` or ctest stopping us: Firefox is still stopped (finally)
    signal.signal(signal.SIGTERM, term)
    signal.signal(signal.SIGINT, term)
    signal.alarm(TOTAL)
    proc = m = None
    code = 0
    with open(os.path.join(outdir, "firefox.log"), "w") as log:
        try:
            proc, port = start_firefox(firefox, opt["profile"], log)
            m = Marionette(port)
            caps = m.cmd("WebDriver:NewSession", {"capabilities": {"alwaysMatch": {
                "pageLoadStrategy": "normal", "timeouts": {"pageLoad": 60000, "script": 30000}}}})
            c = caps.get("capabilities", {})
            print("view_test_firefox: %s %s (headless: %s)"
                  % (c.get("browserName"), c.get("browserVersion"), c.get("moz:headless")), flush=True)
            run_checks(m, url, outdir, opt)
            print("view_test_firefox: ok", flush=True)
        except Exception as e:  # noqa: BLE001 - any failure is a FAIL line
            code = 1
            why = str(e) if isinstance(e, Fail) else "%s: %s" % (type(e).__name__, e)
            print("FAIL: " + why, file=sys.stderr, flush=True)
            if m is not None:
                try:
                    m.sock.settimeout(30)
                    screenshot(m, os.path.join(outdir, "failure.png"))
                except Exception:
                    pass
        finally:
            signal.alarm(0)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if proc is not None:
                stop_firefox(proc, m)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
