# bench/viewer_lib.sh - helpers of bench/run_viewer and bench/run_bigtrace,
# sourced after bench/lib.sh, never run.

# timed CMD...: runs CMD with stdout to /dev/null; prints "SECONDS PEAK_RSS_KB"
# (wall time of the child alone, measured around it; its peak RSS from GNU
# time's %M: getrusage of a child of python would count the memory of the
# python process it was forked from, about 14 MB, as the child's). Uses
# $tmp/timed.rss (lib.sh's scratch directory, removed at exit).
timed() {
    python3 - "$tmp/timed.rss" "$@" <<'PY'
import subprocess, sys, time
rss, cmd = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
try:
    r = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", rss] + cmd, stdout=subprocess.DEVNULL)
except KeyboardInterrupt:  # Ctrl-C: the script's trap cleans up
    sys.exit(130)
dt = time.perf_counter() - t0
if r.returncode != 0:
    sys.exit(f"bench: {' '.join(cmd)}: exit {r.returncode}")
print(f"{dt:.6f} {open(rss).read().split()[-1]}")
PY
}

# eps EVENTS SECONDS: events per second, in millions.
eps() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.3f\n", n / s / 1e6 }'; }
# mb KIB: mebibytes, rounded.
mb() { awk -v k="$1" 'BEGIN { printf "%.0f\n", k / 1024 }'; }

[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time, Debian's time package) is missing: scripts/bootstrap installs it"
