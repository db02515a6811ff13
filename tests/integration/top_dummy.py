"""tests/integration/top_dummy.py - cdebug-top -dummy output read back, for
the scripts that run it (go_expvar_server/lib.sh's top_dummy); imported
with PYTHONPATH=tests/integration.

-dummy prints a "15:04:05 02/01" line per round, then one line per
service: "NAME: var: value, var: value" or "NAME: failed: REASON"."""
import re
import sys

STAMP = re.compile(r"^\d\d:\d\d:\d\d \d\d/\d\d$")


def fail(msg):
    sys.exit("FAIL: " + msg)


def rounds(path):
    """The rounds of the output in path, each the list of its service
    lines; fails on a line before the first timestamp."""
    out = []
    for line in open(path, encoding="utf-8").read().splitlines():
        if STAMP.match(line):
            out.append([])
        elif out:
            out[-1].append(line)
        else:
            fail("output does not start with a timestamp line: %r" % line)
    return out


def fields(line, name):
    """The var -> value pairs of a service line of service NAME."""
    if not line.startswith(name + ": "):
        fail("service line %r is not %s's" % (line, name))
    return dict(f.split(": ", 1) for f in line[len(name) + 2:].split(", "))
