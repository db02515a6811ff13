#!/usr/bin/env python3
"""tests/integration/walkthrough.py - runs every command block of
docs/walkthrough.md against a build and checks each output's shape, so the
document cannot go stale. Driven by test_walkthrough.sh (not a test itself).

Usage: walkthrough.py DOC BUILD SRC WORKDIR [NAME...]
  (NAME...: run only the blocks with these names, for debugging a step;
   background jobs and stops are always honoured.)

The convention, which the document repeats in a comment at its top:

  * Every ```sh block is preceded (blank lines allowed) by one directive,
    an HTML comment that a reader does not see rendered:

      <!-- walkthrough: run NAME [timeout=S] [status=N] [output=sample] -->
          the block runs in bash (set -e) in WORKDIR and must end with
          status N (default 0) within S seconds (default 30); with
          output=sample the output block is an example whose lines vary
          in order, and only the expect patterns below check the output
          (there must be at least one);
      <!-- walkthrough: background NAME [wait=URL] [timeout=S] -->
          the block starts a long-running program (a trailing " &" on its
          lines is dropped: the test runs the whole block as one job in its
          own process group); with wait=URL the test waits, at most S
          seconds (default 20), until URL answers;
      <!-- walkthrough: stop NAME [signal=SIG] -->
          the block is how the reader stops job NAME (`kill %1`, Ctrl-C):
          the test does not run it, it sends SIG (default INT) to the job's
          process group and waits for it to end (10 s, then SIGKILL);
      <!-- walkthrough: skip REASON -->
          not run, for REASON (it opens a browser, it needs a terminal).

    run and stop take sanitizer=no: in a sanitizer build (CDEBUG_SANITIZE
    set) the block is not checked, because the sanitizer reports first
    what it shows (a crash report: AddressSanitizer catches the fault
    before cdebug's handler); a stopped job is then killed with SIGKILL.

    A ```sh block without a directive fails the test.
  * The block may be followed (blank lines allowed) by an output block, a
    ```text fence. For run, its lines are checked against what the block
    printed (stdout and stderr together); for background, nothing is
    checked at start; for stop, against everything the job printed from
    its start to its end.
  * How an output block is matched: blank lines are dropped on both sides;
    each line is normalised (white space collapsed, hexadecimal numbers
    become X, decimal numbers with their unit, 12, 0.25ms, 4.42%, 5236.82MB,
    become N; an id, a capital letter and digits as P0, M38 or G30017,
    becomes P N, M N, G N without the space; a run of 16 hexadecimal
    digits or more, a build id, becomes X), so the figures of this build and this machine never matter,
    the words, fields and their order do. A line "..." stands for lines
    left out. The lines between two "..." must appear consecutively in the
    output, in the document's order; a block that does not start with
    "..." must match from the output's first line, one that does not end
    with "..." must match up to its last line.
  * After the output block (or the sh block), any number of
        <!-- expect: REGEX -->
    comments: each Python regular expression must match somewhere in the
    raw output (re.M), to pin what the shape cannot (a value, a name).
  * The source tree's absolute path followed by "/" is removed from the
    output before it is checked (go tool pprof names source files by their
    full path): the document shows examples/search.c, wherever the tree is.
  * Ports: the document uses fixed ports (the tutorials' 5000, 6060 and
    8081); the test replaces every whole-word occurrence of them in the
    commands and URLs with free ports it picked, so two runs never collide.

Any output holding a sanitizer report (ASan, UBSan, LSan) fails its block.

Each failure prints the block's name, its line in the document, the
expected lines and what came out; the exit status is 1 if any block failed.
"""

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time

DOC_PORTS = ("5000", "6060", "8081")
DIRECTIVE = re.compile(r"^<!--\s*walkthrough:\s*(run|background|stop|skip)\b(.*?)-->\s*$")
EXPECT = re.compile(r"^<!--\s*expect:\s?(.*?)\s*-->\s*$")


class Block:
    def __init__(self, kind, args, line):
        self.kind, self.line = kind, line
        self.name = ""
        self.opts = {}
        self.reason = ""
        self.code = None
        self.output = None  # list of lines, or None
        self.expects = []
        words = args.split()
        if kind == "skip":
            self.reason = args.strip()
            return
        if not words:
            raise SystemExit(f"line {line}: walkthrough {kind} needs a NAME")
        self.name = words[0]
        for w in words[1:]:
            k, sep, v = w.partition("=")
            if kind == "background" and w == "background":
                continue
            if not sep:
                raise SystemExit(f"line {line}: option {w!r} is not KEY=VALUE")
            self.opts[k] = v


def parse(path):
    """The blocks of the document, in order; exits with a message on a
    block that breaks the convention."""
    lines = open(path, encoding="utf-8").read().split("\n")
    blocks, pending, i, n = [], None, 0, len(lines)

    def skip_blank(j):
        while j < n and lines[j].strip() == "":
            j += 1
        return j

    def fence(j):
        """Body lines of the fence opening at j, and the index after it."""
        body, j = [], j + 1
        while j < n and lines[j].strip() != "```":
            body.append(lines[j])
            j += 1
        if j >= n:
            raise SystemExit(f"{path}:{j}: unclosed fence")
        return body, j + 1

    while i < n:
        s = lines[i].strip()
        m = DIRECTIVE.match(s)
        if m:
            pending = Block(m.group(1), m.group(2), i + 1)
            i += 1
            continue
        if s.startswith("```"):
            lang = s[3:].strip()
            body, j = fence(i)
            if lang != "sh":
                i = j
                continue
            if pending is None:
                raise SystemExit(f"{path}:{i + 1}: ```sh block without a "
                                 "<!-- walkthrough: ... --> directive")
            b, pending = pending, None
            b.code = "\n".join(body)
            j = skip_blank(j)
            if j < n and lines[j].strip() == "```text":
                b.output, j = fence(j)
            while True:
                k = skip_blank(j)
                m = EXPECT.match(lines[k].strip()) if k < n else None
                if not m:
                    break
                b.expects.append(m.group(1))
                j = k + 1
            blocks.append(b)
            i = j
            continue
        i += 1
    if pending is not None:
        raise SystemExit(f"{path}:{pending.line}: directive not followed by a ```sh block")
    return blocks


ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?")
# go tool pprof's "Time: Dec 6, 2026 at 3:32pm (UTC)": am before noon.
CLOCK = re.compile(r"\b\d{1,2}:\d\d(:\d\d)?\s?([aApP][mM])\b")
HEXID = re.compile(r"\b[0-9a-f]{16,}\b")  # build ids, hashes
NUM = re.compile(r"(?<![A-Za-z_0-9.])[-+]?(0x[0-9a-fA-F]+|\d+(\.\d+)?([eE][-+]?\d+)?"
                 r"(ns|us|µs|ms|s|B|kB|KB|MB|GB|TB|%)?)(?![0-9A-Za-z]|\.\d)")
IDNUM = re.compile(r"\b([A-Z])\d+\b")
WORDNUM = re.compile(r"(?<![A-Za-z_0-9.])\d+(\.\d+)?(?=[a-zA-Z])")


def norm(line):
    line = ISO.sub("N", line)
    line = CLOCK.sub("T", line)
    line = HEXID.sub("X", line)
    line = NUM.sub("N", line)
    line = WORDNUM.sub("N", line)  # 1.2x, 10s inside words are numbers too
    line = IDNUM.sub(r"\1N", line)  # P0, M38, G30017: ids
    return " ".join(line.split())


def match(want, got):
    """None if the output lines got have the shape of the document's lines
    want, else a message saying which chunk is missing."""
    want = [w for w in want if w.strip()]
    got = [norm(g) for g in got if g.strip()]
    if not want:
        return None
    chunks, cur = [], []
    for w in want:
        if w.strip() == "...":
            chunks.append(cur)
            cur = []
        else:
            cur.append(norm(w))
    chunks.append(cur)
    anchored_start = bool(chunks[0])
    anchored_end = bool(chunks[-1])
    chunks = [c for c in chunks if c]
    pos = 0
    for ci, c in enumerate(chunks):
        first = ci == 0 and anchored_start
        last = ci == len(chunks) - 1 and anchored_end
        if first and last:
            starts = [0] if len(c) == len(got) else []
        elif first:
            starts = [0]
        elif last:
            starts = [len(got) - len(c)] if len(got) - len(c) >= pos else []
        else:
            starts = range(pos, len(got) - len(c) + 1)
        found = next((st for st in starts if got[st:st + len(c)] == c), -1)
        if found < 0:
            where = " ".join(w for w, on in (("at the start", first), ("at the end", last)) if on)
            return "these lines (normalised) are not in the output %s:\n    %s" % (
                where or "in order", "\n    ".join(c))
        pos = found + len(c)
    return None


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return str(p)


class Runner:
    def __init__(self, workdir, ports, src):
        self.workdir, self.ports, self.src = workdir, ports, src
        self.jobs = {}  # name -> (Popen, output file path)
        self.failures = 0

    def subst(self, text):
        for doc, real in self.ports.items():
            text = re.sub(r"(?<![0-9])%s(?![0-9])" % doc, real, text)
        return text

    def fail(self, b, msg, out=None):
        self.failures += 1
        print(f"FAIL: walkthrough {b.kind} {b.name} (docs line {b.line}): {msg}")
        if out is not None:
            lines = out.split("\n")
            print("  output (%d lines%s):" % (len(lines), ", first 60" if len(lines) > 60 else ""))
            for l in lines[:60]:
                print("  | " + l)

    def check(self, b, out):
        out = out.replace(self.src + "/", "")
        if re.search(r"Sanitizer|runtime error:", out):  # an ASan/UBSan/LSan report
            self.fail(b, "sanitizer report in the output", out)
            return
        if os.environ.get("WALK_SHOW"):  # writing the document: see every output
            print(f"---- {b.kind} {b.name} ----\n{out}----")
        if b.output is not None and b.opts.get("output") != "sample":
            why = match(b.output, out.split("\n"))
            if why:
                self.fail(b, why, out)
                return
        for rx in b.expects:
            if not re.search(rx, out, re.M):
                self.fail(b, f"expect {rx!r} does not match", out)
                return
        print(f"ok: {b.kind} {b.name} (docs line {b.line})")

    def run(self, b):
        if b.opts.get("output") == "sample" and not b.expects:
            self.fail(b, "output=sample without an expect pattern checks nothing")
            return
        timeout = float(b.opts.get("timeout", 30))
        want = int(b.opts.get("status", 0))
        p = subprocess.Popen(["bash", "-ec", self.subst(b.code)], cwd=self.workdir,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, start_new_session=True)
        t0 = time.monotonic()
        try:
            raw, _ = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            raw, _ = p.communicate()
            self.fail(b, f"still running after {timeout:g} s", raw.decode("utf-8", "replace"))
            return
        finally:
            try:
                os.killpg(p.pid, signal.SIGKILL)  # whatever it left behind
            except ProcessLookupError:
                pass
        out = raw.decode("utf-8", "replace")
        if p.returncode != want:
            self.fail(b, f"exit status {p.returncode}, want {want}", out)
            return
        print(f"   ({time.monotonic() - t0:.1f} s)")
        self.check(b, out)

    def background(self, b):
        if b.name in self.jobs:
            self.fail(b, "a job of that name is already running")
            return
        code = "\n".join(re.sub(r"\s*&\s*(#.*)?$", "", l) for l in b.code.split("\n"))
        path = os.path.join(self.workdir, f".job-{b.name}.out")
        f = open(path, "wb")
        p = subprocess.Popen(["bash", "-ec", self.subst(code)], cwd=self.workdir,
                             stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
        f.close()
        self.jobs[b.name] = (p, path)
        url = b.opts.get("wait")
        if url:
            url = self.subst(url)
            deadline = time.monotonic() + float(b.opts.get("timeout", 20))
            while time.monotonic() < deadline:
                if p.poll() is not None:
                    self.fail(b, f"exited ({p.returncode}) before {url} answered",
                              open(path, errors="replace").read())
                    return
                r = subprocess.run(["curl", "-s", "-o", "/dev/null", "--max-time", "2",
                                    "--noproxy", "*", url])
                if r.returncode == 0:
                    break
                time.sleep(0.1)
            else:
                self.fail(b, f"{url} did not answer in time", open(path, errors="replace").read())
                return
        print(f"ok: background {b.name} started (docs line {b.line})")

    def stop(self, b, sig=None, check=True):
        job = self.jobs.pop(b.name, None)
        if job is None:
            self.fail(b, "no job of that name is running")
            return
        p, path = job
        sig = sig or getattr(signal, "SIG" + b.opts.get("signal", "INT"))
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
            self.fail(b, "did not end within 10 s of the signal", open(path, errors="replace").read())
            return
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if check:
            self.check(b, open(path, errors="replace").read())

    def cleanup(self):
        for name, (p, path) in self.jobs.items():
            print(f"FAIL: background job {name} was never stopped by the document")
            self.failures += 1
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait()
        self.jobs = {}


def main():
    if len(sys.argv) < 5:
        raise SystemExit(__doc__.split("\n\n")[1])
    doc, build, src, workdir = sys.argv[1:5]
    only = set(sys.argv[5:])
    blocks = parse(doc)
    for name in ("build", "examples"):
        dst = os.path.join(workdir, name)
        if not os.path.lexists(dst):
            os.symlink(os.path.abspath(build) if name == "build"
                       else os.path.join(os.path.abspath(src), name), dst)
    r = Runner(workdir, {p: free_port() for p in DOC_PORTS}, os.path.realpath(src))
    runs = sum(1 for b in blocks if b.kind != "skip")
    print(f"{doc}: {len(blocks)} sh blocks, {runs} run, {len(blocks) - runs} skipped; ports {r.ports}")
    try:
        sanitized = bool(os.environ.get("CDEBUG_SANITIZE"))
        for b in blocks:
            if b.kind == "skip":
                if not b.reason:
                    r.fail(b, "skip needs a reason")
                continue
            if b.opts.get("sanitizer") == "no" and sanitized:
                print(f"skipped under {os.environ['CDEBUG_SANITIZE']}: {b.kind} {b.name} (docs line {b.line})")
                if b.kind == "stop":
                    r.stop(b, signal.SIGKILL, check=False)
                continue
            if b.kind == "run" and only and b.name not in only:
                continue
            getattr(r, b.kind)(b)
    finally:
        r.cleanup()
    print("walkthrough: %d failure(s)" % r.failures)
    return 1 if r.failures else 0


if __name__ == "__main__":
    sys.exit(main())
