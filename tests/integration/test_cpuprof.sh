#!/usr/bin/env bash
# The CPU profiler (prof/cpuprof.c) and GET /debug/pprof/profile, read by
# the real `go tool pprof`:
#   - the 70/30 program (prog_cpuprof.c: two tasks whose CPU goes 70% to
#     hot_f and 30% to hot_g) profiled with cd_cpuprof_start/stop into a
#     file, with CDEBUG=cpuprofile=FILE, and live over HTTP: hot_f and
#     hot_g within 3 points of 70% and 30%, at least 500 samples, callers
#     present in -traces (frameless leaves included), -tagfocus=task=NAME
#     keeping exactly that task's call path;
#   - the route's errors: a second profile gets Go's 500 text, seconds=601
#     gets 400, HEAD gets the headers; seconds=abc/-1/0 start a long
#     (default 30 s) profile, and a client that disconnects ends it;
#   - faults: 200-deep recursion (stacks cut at 64 frames), a garbage
#     frame pointer, profiling through collections, threads exiting
#     mid-profile, the API's error returns.
# Under ASan/UBSan or TSan (CDEBUG_SANITIZE set) stderr must carry no
# report; under TSan, which defers signals, shares are not checked.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_cpuprof"
go_env

# run_prof NAME ARGS...: runs prog_cpuprof (2 minutes at most), stderr in NAME.err.
run_prof() {
    local name=$1
    shift
    timeout -k 5 120 "$prog" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" ||
        fail "prog_cpuprof $* exited $?"
    check_sanitizer "$name"
}

# flat FILE FUNC: the flat% of FUNC in a `pprof -top` listing (0 if absent).
flat() { awk -v f="$2" '$NF == f { sub("%", "", $2); print $2; found = 1 } END { if (!found) print 0 }' "$1"; }

# near V WANT: |V - WANT| <= 3 (percentage points).
near() { awk -v v="$1" -v w="$2" 'BEGIN { d = v - w; exit !(d <= 3 && d >= -3) }'; }

# samples FILE: total sample count of a profile (-raw, first value column).
samples() { pp -raw "$1" | awk '/^ +[0-9]+ +[0-9]+: / { n += $1 } END { print n + 0 }'; }

# check_split FILE LABEL: the 70/30 assertions on one profile.
check_split() {
    local f=$1 what=$2
    pp -top "$f" >"$tmp/top"
    grep -q '^Type: cpu$' "$tmp/top" || { cat "$tmp/top"; fail "$what: not a CPU profile"; }
    local a b n
    a=$(flat "$tmp/top" hot_f)
    b=$(flat "$tmp/top" hot_g)
    n=$(samples "$f")
    if ((tsan)); then
        # TSan holds asynchronous signals back until its own safe points
        # and merges them, so where samples land says nothing about where
        # CPU went: only their presence is checked.
        [[ $a != 0 && $b != 0 ]] || { cat "$tmp/top"; fail "$what: hot_f or hot_g missing"; }
    else
        ((n >= 500)) || { cat "$tmp/top"; fail "$what: $n samples, want >= 500"; }
        near "$a" 70 || { cat "$tmp/top"; fail "$what: hot_f $a%, want 70 +- 3"; }
        near "$b" 30 || { cat "$tmp/top"; fail "$what: hot_g $b%, want 30 +- 3"; }
    fi
    # Period and sample types, Go's.
    pp -raw "$f" >"$tmp/raw"
    grep -q '^PeriodType: cpu nanoseconds$' "$tmp/raw" || fail "$what: period type"
    grep -q '^Period: 10000000$' "$tmp/raw" || fail "$what: period (100 Hz)"
    grep -q '^samples/count cpu/nanoseconds$' "$tmp/raw" || fail "$what: sample types"
    # Full stacks: the frameless leaf hot_f, its caller, the task function.
    pp -traces "$f" >"$tmp/traces"
    for path in "hot_f alpha_loop alpha_task" "hot_g beta_loop beta_task"; do
        set -- $path
        awk -v a="$1" -v b="$2" -v c="$3" '
            /^-+\+/ { if (x == 3) found = 1; x = 0; next }
            { name = $NF }
            x == 0 && name == a { x = 1; next }
            x == 1 { x = (name == b) ? 2 : -1; next }
            x == 2 { x = (name == c) ? 3 : -1; next }
            END { if (x == 3) found = 1; exit !found }' "$tmp/traces" ||
            { head -n 40 "$tmp/traces"; fail "$what: no trace $path"; }
    done
    # Task labels: each task's samples, and only them, on its own path.
    pp -top -tagfocus=task=alpha "$f" >"$tmp/alpha"
    grep -Eq ' alpha_loop$' "$tmp/alpha" || { cat "$tmp/alpha"; fail "$what: tagfocus alpha"; }
    ! grep -Eq ' beta_(loop|task)$' "$tmp/alpha" || { cat "$tmp/alpha"; fail "$what: beta in alpha"; }
    pp -top -tagfocus=task=beta "$f" >"$tmp/beta"
    grep -Eq ' beta_loop$' "$tmp/beta" || { cat "$tmp/beta"; fail "$what: tagfocus beta"; }
    ! grep -Eq ' alpha_(loop|task)$' "$tmp/beta" || { cat "$tmp/beta"; fail "$what: alpha in beta"; }
    ok "$what: hot_f $a%, hot_g $b%, $n samples, stacks and task labels"
}

# ---- API ------------------------------------------------------------------
run_prof api api
grep -qx ok "$tmp/api.out" || fail "api checks"
ok "api: -EBADF, -EINVAL, -EBUSY, -ENOENT, write errors"

# ---- 70/30 into a file, and with CDEBUG=cpuprofile --------------------------
run_prof split split "$tmp/split.pb.gz"
check_split "$tmp/split.pb.gz" "cd_cpuprof_start/stop"

CDEBUG="cpuprofile=$tmp/env.pb.gz" run_prof env burn
[[ -s $tmp/env.pb.gz ]] || fail "CDEBUG=cpuprofile wrote nothing"
check_split "$tmp/env.pb.gz" "CDEBUG=cpuprofile"

# cpuprofilerate: the period and the sample count follow the rate (the
# same CPU-bound run at 1000 Hz gives about ten times the samples).
CDEBUG="cpuprofile=$tmp/env1000.pb.gz,cpuprofilerate=1000" run_prof env1000 burn
pp -raw "$tmp/env1000.pb.gz" >"$tmp/raw1000"
grep -q '^Period: 1000000$' "$tmp/raw1000" || { head "$tmp/raw1000"; fail "cpuprofilerate=1000: period"; }
n100=$(samples "$tmp/env.pb.gz")
n1000=$(samples "$tmp/env1000.pb.gz")
if ((!tsan)); then
    ((n1000 >= 5 * n100)) || fail "cpuprofilerate=1000: $n1000 samples against $n100 at 100 Hz"
fi
CDEBUG="cpuprofile=$tmp/envr.pb.gz,cpuprofilerate=5000" run_prof envr burn
grep -q 'cpuprofilerate' "$tmp/envr.err" || { cat "$tmp/envr.err"; fail "no warning for cpuprofilerate=5000"; }
grep -q '^Period: 10000000$' <(pp -raw "$tmp/envr.pb.gz") || fail "cpuprofilerate=5000 did not keep 100 Hz"
ok "CDEBUG=cpuprofilerate: 1000 Hz gives period 1 ms and $n1000 samples (100 Hz: $n100); 5000 refused"

CDEBUG="cpuprofile=$tmp/no/such/dir/x.pb.gz" run_prof envbad api
grep -q "cdebug: cpuprofile: cannot create $tmp/no/such/dir/x.pb.gz" "$tmp/envbad.err" ||
    { cat "$tmp/envbad.err"; fail "no warning for an uncreatable cpuprofile file"; }
ok "CDEBUG=cpuprofile: bad file reported, program runs"

# ---- the live route ---------------------------------------------------------
"$prog" serve >"$tmp/serve.out" 2>"$tmp/serve.err" &
spid=$!
pids+=("$spid")
for ((i = 0; i < 200; i++)); do
    grep -q '^listening on ' "$tmp/serve.out" && break
    kill -0 "$spid" 2>/dev/null || break
    sleep 0.05
done
port=$(awk '/^listening on/ { print $NF }' "$tmp/serve.out")
[[ -n $port ]] || { cat "$tmp/serve.err"; fail "serve did not start"; }
base="http://127.0.0.1:$port/debug/pprof/profile"

# go tool pprof against the URL; the saved copy is checked like a file.
# A busy machine may give the two threads less than a core each: more
# 10 s windows are then fetched and merged (pprof -proto) until there are
# 500 samples.
pp -top "$base?seconds=10" >"$tmp/live.top"
saved=$(ls "$tmp"/pprof.prog_cpuprof.samples.cpu.*.pb.gz | head -n 1)
[[ -s $saved ]] || fail "pprof saved no profile from $base"
live=("$saved")
for ((w = 1; w < 6; w++)); do
    pp -proto "${live[@]}" >"$tmp/live.pb.gz"
    (($(samples "$tmp/live.pb.gz") >= 500 || tsan)) && break
    curl -s -o "$tmp/live$w.pb.gz" -m 30 "$base?seconds=10" || fail "fetching window $w"
    live+=("$tmp/live$w.pb.gz")
done
check_split "$tmp/live.pb.gz" "live /debug/pprof/profile?seconds=10 (${#live[@]} window(s))"

# A second profile while one runs: Go's 500, text and headers.
curl -s -o "$tmp/first.pb.gz" -m 30 "$base?seconds=3" &
cpid=$!
sleep 1
code=$(curl -s -D "$tmp/h2" -o "$tmp/b2" -w '%{http_code}' -m 10 "$base?seconds=1")
[[ $code == 500 ]] || fail "second profile: status $code, want 500"
[[ $(cat "$tmp/b2") == "Could not enable CPU profiling: cpu profiling already in use" ]] ||
    fail "second profile: body '$(cat "$tmp/b2")'"
grep -qi '^X-Go-Pprof: 1' "$tmp/h2" || fail "second profile: no X-Go-Pprof"
grep -qi '^X-Content-Type-Options: nosniff' "$tmp/h2" || fail "second profile: no nosniff"
grep -qi '^Content-Type: text/plain; charset=utf-8' "$tmp/h2" || fail "second profile: type"
wait "$cpid" || fail "the first profile's request failed"
[[ $(head -c2 "$tmp/first.pb.gz" | od -An -tx1 | tr -d ' ') == 1f8b ]] || fail "first profile not gzip"
ok "second concurrent profile: 500 'cpu profiling already in use', X-Go-Pprof"

# Headers of a profile, and HEAD.
curl -s -D "$tmp/h3" -o /dev/null -m 10 "$base?seconds=1"
grep -qi '^Content-Type: application/octet-stream' "$tmp/h3" || fail "profile content type"
grep -qi '^Content-Disposition: attachment; filename="profile"' "$tmp/h3" || fail "disposition"
grep -qi '^X-Content-Type-Options: nosniff' "$tmp/h3" || fail "nosniff"
code=$(curl -s -I -o "$tmp/h4" -w '%{http_code}' -m 10 "$base")
[[ $code == 200 ]] && grep -qi 'filename="profile"' "$tmp/h4" || fail "HEAD: $code"
ok "headers: octet-stream, attachment; filename=\"profile\", nosniff; HEAD"

# Above the cap: 400 with our text.
code=$(curl -s -D "$tmp/h5" -o "$tmp/b5" -w '%{http_code}' -m 10 "$base?seconds=601")
[[ $code == 400 ]] || fail "seconds=601: status $code"
[[ $(cat "$tmp/b5") == "profile duration exceeds the server's maximum of 600 seconds" ]] ||
    fail "seconds=601: body '$(cat "$tmp/b5")'"
grep -qi '^X-Go-Pprof: 1' "$tmp/h5" || fail "seconds=601: no X-Go-Pprof"
ok "seconds=601: 400"

# Bad values mean 30 s (Go's rule; the parser is unit-tested in
# test_pprof_profile_seconds). Here: the profile is still running after
# 2 s (so not 400, not 1 s), and the client's disconnect at 3 s ends it:
# a new profile is accepted right after.
for v in abc -1 0 ''; do
    curl -s -o /dev/null -m 3 "$base?seconds=$v" &
    cpid=$!
    sleep 2
    code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 "$base?seconds=1")
    [[ $code == 500 ]] || fail "seconds='$v': no profile running after 2 s (second got $code)"
    wait "$cpid" || true # curl: timeout, by design
    got=
    for ((i = 0; i < 50; i++)); do
        code=$(curl -s -o "$tmp/after.pb.gz" -w '%{http_code}' -m 10 "$base?seconds=1")
        if [[ $code == 200 ]]; then got=1; break; fi
        sleep 0.1
    done
    [[ -n $got ]] || fail "seconds='$v': the profile did not stop when its client went away"
done
pp -top "$tmp/after.pb.gz" >/dev/null
ok "seconds=abc/-1/0/empty: a long profile, ended by the client's disconnect"

kill -TERM "$spid"
for ((i = 0; i < 200; i++)); do kill -0 "$spid" 2>/dev/null || break; sleep 0.05; done
kill -0 "$spid" 2>/dev/null && fail "serve still running 10 s after SIGTERM"
wait "$spid" || fail "serve exited with $?"
grep -qx stopped "$tmp/serve.out" || fail "serve did not stop cleanly"
check_sanitizer serve

# ---- faults -----------------------------------------------------------------
run_prof deep deep "$tmp/deep.pb.gz"
pp -traces "$tmp/deep.pb.gz" >"$tmp/deep.traces"
depth=$(awk '/^-+\+/ { if (n > max) max = n; n = 0; next } /^ +[0-9.]+[mun]?s / { n = 1; next }
             n > 0 { n++ } END { if (n > max) max = n; print max + 0 }' "$tmp/deep.traces")
[[ $depth == 64 ]] || { head -n 80 "$tmp/deep.traces"; fail "deepest stack $depth frames, want 64"; }
grep -q ' deep_leaf$' "$tmp/deep.traces" || fail "deep_leaf missing"
ok "200-deep recursion: stacks cut at 64 frames"

run_prof nofp nofp "$tmp/nofp.pb.gz"
pp -top "$tmp/nofp.pb.gz" >"$tmp/nofp.top"
grep -Eq ' nofp_spin$' "$tmp/nofp.top" || { cat "$tmp/nofp.top"; fail "nofp_spin missing"; }
ok "garbage frame pointers: truncated stacks, no crash"

secs=3
[[ -n $sanitize ]] && secs=2
run_prof gc gc "$tmp/gc.pb.gz" "$secs"
n=$(samples "$tmp/gc.pb.gz")
((n > 0)) || fail "no samples while collecting"
ok "1000 Hz through forced collections: $n samples, no crash, no deadlock"

run_prof exit exit "$tmp/exit.pb.gz" "$secs"
pp -top "$tmp/exit.pb.gz" >"$tmp/exit.top"
grep -Eq ' exit_burn$' "$tmp/exit.top" || { cat "$tmp/exit.top"; fail "exit_burn missing"; }
grep -Eq ' blocker_task$' "$tmp/exit.top" || { cat "$tmp/exit.top"; fail "blocker_task missing"; }
ok "threads registering and exiting mid-profile: sampled, no crash"
# fork: the child forgets the parent's profile (no hang, no write).
run_prof fork fork "$tmp/fork.pb.gz"
pp -top "$tmp/fork.pb.gz" >"$tmp/fork.top"
grep -Eq ' exit_burn$' "$tmp/fork.top" || { cat "$tmp/fork.top"; fail "fork: exit_burn missing"; }
CDEBUG="cpuprofile=$tmp/forkenv.pb.gz" run_prof forkenv forkenv
pp -top "$tmp/forkenv.pb.gz" >"$tmp/forkenv.top"
grep -Eq ' exit_burn$' "$tmp/forkenv.top" || { cat "$tmp/forkenv.top"; fail "forkenv: exit_burn missing"; }
ok "fork while profiling: the child stops without hanging or writing; the parent's profile is intact"
echo "ok"
