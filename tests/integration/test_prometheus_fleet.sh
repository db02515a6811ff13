#!/usr/bin/env bash
# A fleet of preloaded processes watched the way Go services are
# (docs/vars.md, "Scraping many processes"):
#
#   - three copies of a small C program that never heard of cdebug, each
#     preloaded with CDEBUG=http=127.0.0.1:0, each serving a port of its
#     own (said on stderr by the library); copy i runs i threads of its
#     own and keeps i MiB malloc'd, so each process's figures are its own
#     (the heap exactly; the thread count within the server's connection
#     threads, which come and go with the scrapers);
#   - Debian's real Prometheus, on loopback, scrapes them every second
#     from a file_sd target list; its HTTP API answers `up` and a cdebug
#     metric (cdebug_threads; cdebug_malloc_heap_alloc_bytes where cdebug
#     interposes malloc) for each of the three instances, with each
#     instance's own value;
#   - cdebug-top -ports=P1,P2,P3 -dummy shows the three side by side, each
#     with its own thread count.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
# shellcheck source=go_expvar_server/lib.sh
source "$(dirname "$0")/go_expvar_server/lib.sh"
export PYTHONPATH="$(dirname "$0")${PYTHONPATH:+:$PYTHONPATH}" # top_dummy.py
need prometheus prometheus
need jq jq
preload_env
top_bin >/dev/null # fails now when cdebug-top is not built

# The program: i threads that sleep, i MiB kept, and malloc work in a loop
# until the stop file exists (60 s at most: it never outlives the test).
cat >"$tmp/worker.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static void *idle(void *arg) {
    (void)arg;
    for (;;)
        pause();
    return NULL;
}
int main(int argc, char **argv) {
    int n = argc > 2 ? atoi(argv[1]) : 1;
    for (int i = 0; i < n; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, idle, NULL) != 0)
            return 1;
    }
    char *kept[16];
    for (int i = 0; i < n && i < 16; i++) {
        kept[i] = malloc(1 << 20);
        memset(kept[i], 1, 1 << 20);
    }
    printf("ready\n");
    fflush(stdout);
    time_t end = time(NULL) + 60;
    while (access(argv[2], F_OK) != 0 && time(NULL) < end) {
        for (int i = 0; i < 200; i++) {
            char *p = malloc(64 + i * 16);
            p[0] = (char)i;
            free(p);
        }
        usleep(10000);
    }
    printf("kept %p\n", (void *)kept[0]);
    return 0;
}
C
cc -O1 -g -pthread -o "$tmp/worker" "$tmp/worker.c" || fail "compiling worker.c"

# Start the three: env execs the worker, so $! is the worker's PID; the
# library says the port it got on stderr.
wpids=()
wports=()
for i in 1 2 3; do
    : >"$tmp/w$i.out"
    : >"$tmp/w$i.err"
    env LD_PRELOAD="$preload" CDEBUG=http=127.0.0.1:0 "$tmp/worker" "$i" "$tmp/stop" \
        >"$tmp/w$i.out" 2>"$tmp/w$i.err" &
    wpids+=("$!")
    pids+=("$!")
done
at_exit "touch '$tmp/stop'"
for i in 0 1 2; do
    said_port "w$((i + 1))" "${wpids[$i]}"
    wports+=("$port")
    wait_line "w$((i + 1))" "${wpids[$i]}" ready 10 # its threads and blocks are there
done
[[ $(printf '%s\n' "${wports[@]}" | sort -u | wc -l) == 3 ]] || fail "the workers share a port: ${wports[*]}"
ok "three preloaded workers, ports ${wports[*]}"

# /metrics of one of them: the metrics the queries below ask for exist.
code=$(fetch "http://127.0.0.1:${wports[0]}/metrics")
[[ $code == 200 ]] || fail "GET /metrics: $code"
grep -q '^cdebug_threads ' "$tmp/b" || fail "no cdebug_threads in /metrics"
malloc_metric=
if grep -q '^cdebug_malloc_heap_alloc_bytes ' "$tmp/b"; then
    malloc_metric=cdebug_malloc_heap_alloc_bytes
elif [[ -n $sanitize ]]; then
    echo "skip: the malloc metric: a sanitizer build does not interpose malloc (no cdebug_malloc_heap_alloc_bytes)"
else
    fail "no cdebug_malloc_heap_alloc_bytes in /metrics of a build that interposes malloc"
fi

# ---- Prometheus: file_sd targets, scrape every second ---------------------------------
pport=$(free_port)
targets=$(printf '"127.0.0.1:%s",' "${wports[@]}")
cat >"$tmp/targets.json" <<EOF
[{"targets": [${targets%,}], "labels": {"fleet": "test"}}]
EOF
cat >"$tmp/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: cdebug
    metrics_path: /metrics
    file_sd_configs:
      - files: ['$tmp/targets.json']
        refresh_interval: 1s
EOF
timeout 10 promtool check config "$tmp/prometheus.yml" >"$tmp/promtool.out" 2>&1 ||
    { show "$tmp/promtool.out"; fail "promtool check config"; }
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/tsdb" \
    --web.listen-address="127.0.0.1:$pport" \
    --storage.tsdb.retention.time=1h >"$tmp/prom.out" 2>"$tmp/prom.err" &
prom=$!
pids+=("$prom")

# query EXPR: Prometheus' instant query of EXPR, the result vector
# (instance value, one a line, sorted) in $tmp/q; status "success" or fails.
query() {
    local code
    code=$(fetch -G "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$1")
    [[ $code == 200 ]] || return 1
    jq -e '.status == "success"' "$tmp/b" >/dev/null || return 1
    jq -r '.data.result[] | "\(.metric.instance) \(.value[1])"' "$tmp/b" | sort >"$tmp/q"
}

# Bounded: 30 s for Prometheus to start and scrape all three.
want_instances=$(printf '127.0.0.1:%s\n' "${wports[@]}" | sort)
got=
deadline=$((SECONDS + 30))
while ((SECONDS < deadline)); do
    kill -0 "$prom" 2>/dev/null || { show "$tmp/prom.err"; fail "prometheus exited"; }
    if query 'up{job="cdebug"} == 1 and on(instance) cdebug_threads'; then
        got=$(cut -d' ' -f1 "$tmp/q")
        [[ $got == "$want_instances" ]] && break
    fi
    sleep 0.1
done
[[ $got == "$want_instances" ]] || { show "$tmp/prom.err"; fail "Prometheus scraped '$(tr '\n' ' ' <<<"$got")', want '$(tr '\n' ' ' <<<"$want_instances")' within 30 s"; }

# up == 1 for each, with the job and the file_sd label.
query 'up{job="cdebug",fleet="test"}' || fail "query up"
[[ $(cut -d' ' -f1 "$tmp/q") == "$want_instances" ]] || fail "up: $(cat "$tmp/q")"
[[ $(cut -d' ' -f2 "$tmp/q" | sort -u) == 1 ]] || fail "up is not 1 for every instance: $(cat "$tmp/q")"

# cdebug_threads: worker i runs i threads besides main; cdebug's own and
# the server's connection threads come and go with the scrapers, so the
# count is i + 1 or a few more.
query 'cdebug_threads{job="cdebug"}' || fail "query cdebug_threads"
declare -A threads
while read -r inst v; do threads[$inst]=$v; done <"$tmp/q"
for i in 0 1 2; do
    v=${threads[127.0.0.1:${wports[$i]}]:-0}
    ((v >= i + 2 && v <= i + 2 + 8)) ||
        fail "cdebug_threads of worker $((i + 1)) (127.0.0.1:${wports[$i]}) is $v, want $((i + 2)) to $((i + 10)): $(tr '\n' ' ' <"$tmp/q")"
done
ok "Prometheus: up == 1 and cdebug_threads for the three instances ($(tr '\n' ' ' <"$tmp/q"))"

if [[ -n $malloc_metric ]]; then
    query "$malloc_metric{job=\"cdebug\"}" || fail "query $malloc_metric"
    declare -A heap
    while read -r inst v; do heap[$inst]=${v%.*}; done <"$tmp/q"
    for i in 0 1 2; do
        v=${heap[127.0.0.1:${wports[$i]}]:-0}
        # i+1 MiB kept, and less than 64 MiB more (the loop frees what it takes).
        ((v >= (i + 1) * 1048576 && v < (i + 1 + 64) * 1048576)) ||
            fail "$malloc_metric of worker $((i + 1)) is $v, want $((i + 1)) MiB or a little more: $(tr '\n' ' ' <"$tmp/q")"
    done
    ok "Prometheus: $malloc_metric per instance ($(tr '\n' ' ' <"$tmp/q"))"
fi

# ---- cdebug-top: the three side by side ------------------------------------------------
ports_arg=$(IFS=,; echo "${wports[*]}")
top_dummy "$tmp/top.out" "$tmp/top.err" -ports="$ports_arg" -vars='sched.threads,mem:malloc.HeapAlloc'
[[ ! -s $tmp/top.err ]] || fail "cdebug-top: stderr: $(head -n 3 "$tmp/top.err")"
python3 - "$tmp/top.out" "${wports[@]}" <<'PY' || { show "$tmp/top.out"; fail "cdebug-top -dummy output"; }
import sys
from top_dummy import fail, fields, rounds
out, ports = sys.argv[1], sys.argv[2:]
rs = rounds(out)
if len(rs) < 2:
    fail("only %d rounds" % len(rs))
for n, r in enumerate(rs):
    if len(r) != 3:
        fail("round %d has %d service lines: %r" % (n, len(r), r))
    for i, (line, port) in enumerate(zip(r, ports)):
        f = fields(line, "localhost:%s" % port)
        t = f.get("sched.threads", "")
        if not t.isdigit() or not i + 2 <= int(t) <= i + 10:
            fail("localhost:%s sched.threads is %r, want %d to %d" % (port, t, i + 2, i + 10))
        if "malloc.HeapAlloc" not in f:
            fail("localhost:%s has no malloc.HeapAlloc: %r" % (port, line))
PY
ok "cdebug-top -ports=$ports_arg: the three side by side, each with its thread count and heap"

# ---- the end: the workers exit by themselves, nothing left behind --------------------------
touch "$tmp/stop"
for i in 0 1 2; do
    st=0
    wait_pid "${wpids[$i]}" 20 || st=$?
    ((st == 0)) || { show "$tmp/w$((i + 1)).err"; fail "worker $((i + 1)) exited with status $st"; }
    check_sanitizer "w$((i + 1))"
done
echo "prometheus fleet: all checks passed"
