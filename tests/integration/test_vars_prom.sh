#!/usr/bin/env bash
# /metrics text through the real `promtool check metrics` (Debian package
# prometheus): a registry with every var kind, awkward names (quotes,
# newlines, control and invalid UTF-8 bytes, camelCase, dots, collisions)
# and the runtime metrics must give no error and no lint warning.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog=$build/tests/prog_vars
built "$prog"
need promtool prometheus

"$prog" prom >"$tmp/metrics" || fail "prog_vars prom exited $?"
if ! promtool check metrics <"$tmp/metrics" >"$tmp/out" 2>&1; then
  cat "$tmp/out" >&2
  fail "promtool check metrics failed"
fi
[[ -s $tmp/out ]] && { cat "$tmp/out" >&2; fail "promtool printed lint problems"; }

# The families the docs promise, with the names sanitising must give.
for want in \
  '^# TYPE cdebug_gc_pause_seconds histogram$' \
  '^cdebug_gc_pause_seconds_bucket\{le="\+Inf"\} [0-9]+$' \
  '^# TYPE cdebug_gc_count_total counter$' \
  '^# TYPE cdebug_heap_alloc_bytes gauge$' \
  '^cdebug_runqueue_tasks\{worker="0"\} [0-9]+$' \
  '^cdebug_tasks_created_total [0-9]+$' \
  '^cdebug_requests 1234$' \
  '^cdebug_goroutines 12$' \
  '^cdebug_queue_depth_now -3$' \
  '^# TYPE cdebug_bytes_sent_total counter$' \
  '^cdebug_bytes_sent_total 99$' \
  '^cdebug_bytes_sent_total_2 1$' \
  '^cdebug_load 0.75$' \
  '^cdebug_weird_name_end 1e\+21$' \
  '^cdebug_version_info\{value="1.2.3 \\"beta\\"\\nline2 \\\\ é �"\} 1$' \
  '^cdebug_empty_string_info\{value=""\} 1$' \
  '^cdebug_http\{key="GET"\} 10$' \
  '^cdebug_http\{key="we\\"ird\\nkey\\\\"\} 1$' \
  '^cdebug_http\{key="bad�utf8"\} 2$' \
  '^cdebug_http_info\{key="mode",value="fast \\"mode\\""\} 1$' \
  '^cdebug_http_codes\{key="404"\} 1$' \
  '^cdebug_http_codes_deep\{key="x"\} 1$' \
  '^cdebug_func_num 42$' \
  '^# cdebug: func var cdebug_func_obj skipped' \
  '^cdebug_latency_bucket\{le="0.001"\} 10$' \
  '^cdebug_latency_bucket\{le="0.01"\} 30$' \
  '^cdebug_latency_bucket\{le="1"\} 100$' \
  '^cdebug_latency_bucket\{le="\+Inf"\} 101$' \
  '^cdebug_latency_count 101$'; do
  grep -Eq -- "$want" "$tmp/metrics" || fail "no line matches /$want/"
done
# Every family has HELP and TYPE, and no metric name repeats a family.
types=$(grep -c '^# TYPE ' "$tmp/metrics")
helps=$(grep -c '^# HELP ' "$tmp/metrics")
((types == helps)) || fail "$types TYPE lines but $helps HELP lines"
dups=$(grep '^# TYPE ' "$tmp/metrics" | awk '{print $3}' | sort | uniq -d)
[[ -z $dups ]] || fail "families declared twice: $dups"
echo "ok: $types families"
