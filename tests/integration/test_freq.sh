#!/usr/bin/env bash
# tests/integration/test_freq.sh - examples/freq, the tracing walkthrough's program.
#
#   1. Counts: every --mode prints the same count, and it is the count that an
#      independent implementation (python's xml.etree and re, freq_trace.py
#      --count) finds in the same documents written out with --dump; --dir
#      reads them back with the same result.
#   2. The parser: a hand-written document full of XML corner cases gives the
#      count worked out by hand (and python agrees); malformed documents are
#      reported with their name and offset (and python rejects them too).
#   3. Usage: bad flags exit 2 with a message and the usage on stderr.
#   4. The Go original's point, in traces (CDEBUG=trace=FILE CDMAXPROCS=2, read with
#      cdebug-trace dump): serial parses every document on one thread, one at
#      a time; numcpu parses on two threads at once; one "freq" user task,
#      one "chunk" per pool task, one load/parse/search region per document;
#      bounded never has more than CDMAXPROCS tasks outstanding, fanout has.
#
# CTest sets CDEBUG_BUILD and CDEBUG_SRC; a non-empty CDEBUG_SANITIZE (ASan
# build) shrinks the workloads.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
freq=$build/examples/freq
tool=$build/viewer/cdebug-trace
helper=$src/tests/integration/freq_trace.py

# The interpreter itself, not a version-manager shim that may cost half a
# second per call.
python=$(python3 -c 'import sys; print(sys.executable)')

built "$freq" "$tool"

# A whole run may take minutes under a sanitizer: lib.sh's `run` waits 300 s.
run_timeout=300
if [[ -n $sanitize ]]; then
    docs=200 tdocs=800 small=120
else
    docs=600 tdocs=2000 small=300
fi

# found N TOPIC: checks the first stdout line and prints the count.
found() {
    local line
    line=$(head -n 1 "$tmp/out")
    [[ $line =~ ^Searching\ $1\ files,\ found\ $2\ ([0-9]+)\ times\.$ ]] \
        || fail "first line: '$line', want 'Searching $1 files, found $2 N times.'"
    echo "${BASH_REMATCH[1]}"
}

# tasks_for MODE N: the task count freq reports with CDMAXPROCS=2.
tasks_for() {
    case $1 in
    serial) echo 1 ;;
    numcpu) echo $(($2 < 2 ? $2 : 2)) ;;
    *) echo "$2" ;;
    esac
}

modes=(serial fanout bounded numcpu)

# ---- 1. counts ---------------------------------------------------------------
echo "== counts: $docs generated documents, every mode"
declare -A count
for m in "${modes[@]}"; do
    CDMAXPROCS=2 run 0 "$freq" --mode=$m --docs=$docs
    [[ ! -s $tmp/err ]] || {
        show "$tmp/err"
        fail "$m: stderr not empty"
    }
    count[$m]=$(found $docs president)
    line2=$(sed -n 2p "$tmp/out")
    re="^freq: mode=$m workers=2 tasks=$(tasks_for $m $docs) elapsed=[0-9]+\.[0-9]ms$"
    [[ $line2 =~ $re ]] || fail "$m: second line '$line2' does not match $re"
    [[ $(wc -l <"$tmp/out") == 2 ]] || fail "$m: more than two lines on stdout"
done
for m in "${modes[@]}"; do
    [[ ${count[$m]} == "${count[serial]}" ]] \
        || fail "mode $m found ${count[$m]}, serial found ${count[serial]}"
done
expected=${count[serial]}
((expected > 0)) || fail "nothing found in $docs documents"

run 0 "$freq" --dump="$tmp/docs" --docs=$docs
grep -qx "freq: wrote $docs documents to $tmp/docs" "$tmp/out" || fail "--dump: $(cat "$tmp/out")"
[[ $(find "$tmp/docs" -name '*.xml' | wc -l) == "$docs" ]] || fail "--dump: wrong number of files"
[[ -f $tmp/docs/000000.xml && -f $tmp/docs/$(printf %06d $((docs - 1))).xml ]] \
    || fail "--dump: file names"
py=$("$python" "$helper" --count "$tmp/docs" president) || fail "python could not read the dump"
[[ $py == "$expected" ]] || fail "freq found $expected, python's xml.etree finds $py"

# The generator is deterministic and --docs=N is a prefix of a larger run.
run 0 "$freq" --dump="$tmp/more" --docs=$((docs + 7))
cmp -s "$tmp/docs/000005.xml" "$tmp/more/000005.xml" || fail "--dump is not deterministic"

for m in "${modes[@]}"; do
    CDMAXPROCS=2 run 0 "$freq" --mode=$m --dir="$tmp/docs"
    [[ $(found $docs president) == "$expected" ]] || fail "--dir in mode $m"
done
# Another topic, given in another case: generated and read back.
py=$("$python" "$helper" --count "$tmp/docs" senate)
CDMAXPROCS=2 run 0 "$freq" --mode=numcpu --docs=$docs --topic=senate
[[ $(found $docs senate) == "$py" ]] || fail "--topic=senate: python finds $py"
CDMAXPROCS=2 run 0 "$freq" --mode=fanout --dir="$tmp/docs" --topic=SeNaTe
[[ $(found $docs SeNaTe) == "$py" ]] || fail "--topic=SeNaTe: python finds $py"
echo "ok: every mode found president $expected times, as python does; senate $py times"

# ---- 2. the parser -----------------------------------------------------------
echo "== parser: a document of corner cases, malformed documents"
mkdir "$tmp/tricky"
# Counted items, by hand: 1 case, 2 hyphen and entity, 3 character reference,
# 4 CDATA, 5 text around a comment, 6 hex references, 7 a second channel.
# Not counted: the channel's own title, words containing the topic, text of
# nested elements, other elements and attributes, a second title, items not
# directly in a channel.
cat >"$tmp/tricky/tricky.xml" <<'EOF'
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE rss [ <!ELEMENT rss ANY> ]>
<!-- before the root: the president -->
<?stylesheet href="president.xsl"?>
<rss version='2.0' xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel>
    <title>President news</title>
    <description>All about the president</description>
    <item><title>The PRESIDENT speaks</title></item>
    <item note="a > b"><title >nothing</title ><description>Vice-president&apos;s day</description></item>
    <item><title>presidential race</title><description>presidents, presidentially</description></item>
    <item><title>Pres&#105;dent &amp; co</title></item>
    <item><title>x</title><description><![CDATA[<b>president</b>]]></description></item>
    <item><title>a <em>president</em> b</title><description>the <b>President</b> said</description></item>
    <item guid="president"><link>president</link><dc:title>president</dc:title><category>president</category></item>
    <item><title>first</title><title>president</title></item>
    <item><description>pre<!-- a comment -->sident</description></item>
    <item><title>president2 2president pres ident</title></item>
    <item/>
    <item><title/><description>&#x50;RESIDENT&#x2014;elect</description></item>
    <president><item><title>president</title></item></president>
  </channel>
  <channel><item><title>another channel's president</title></item></channel>
  <item><title>president, but not in a channel</title></item>
</rss>
<!-- after the root -->
EOF
mkdir "$tmp/tricky/sub.xml" # a directory: not a document
[[ $("$python" "$helper" --count "$tmp/tricky" president) == 7 ]] \
    || fail "python's count of the corner cases is not 7: the test's oracle is wrong"
for m in "${modes[@]}"; do
    CDMAXPROCS=2 run 0 "$freq" --mode=$m --dir="$tmp/tricky"
    [[ $(found 1 president) == 7 ]] || fail "corner cases in mode $m: want 7"
done
CDMAXPROCS=2 run 0 "$freq" --dir="$tmp/tricky" --topic=elect
[[ $(found 1 elect) == 1 ]] || fail "corner cases, topic elect: want 1"

bad_docs=(
    '<rss><channel><item><title>x</item></channel></rss>'
    '<rss><channel><item><title>&nbsp;</title></item></channel></rss>'
    '<rss><channel><item><title>Q&A president</title></item></channel></rss>'
    '<rss><!-- x </rss>'
    '<rss></rss>junk'
    '<rss></rss><rss></rss>'
    '<rss><channel><item><title>president'
    '<rss version=2.0></rss>'
    '<rss><channel><item><title>&#0;</title></item></channel></rss>'
    '<rss><channel><item><title>&#xD800;</title></item></channel></rss>'
    '<rss><channel><item><title>&#x110000;</title></item></channel></rss>'
    '<rss a="<"></rss>'
    '<rss a="1"b="2"></rss>'
    '<rss><1item/></rss>'
    '<rss><![CDATA[ x </rss>'
    '</rss>'
    '<rss><channel></channel></rss'
    ''
)
for k in "${!bad_docs[@]}"; do
    printf '%s' "${bad_docs[k]}" >"$tmp/bad$k.xml"
done
"$python" "$helper" --malformed "$tmp"/bad*.xml || fail "python accepts a malformed document (above)"
for k in "${!bad_docs[@]}"; do
    b=${bad_docs[k]}
    rm -rf "$tmp/bad"
    mkdir "$tmp/bad"
    cp "$tmp/tricky/tricky.xml" "$tmp/bad/a.xml"
    cp "$tmp/bad$k.xml" "$tmp/bad/b.xml"
    for m in serial fanout; do
        CDMAXPROCS=2 run 1 "$freq" --mode=$m --dir="$tmp/bad"
        [[ $(found 2 president) == 7 ]] || fail "'$b': the good document still counts"
        grep -Eq "^freq: $tmp/bad/b\.xml: byte [0-9]+: [a-z'<&]" "$tmp/err" || {
            show "$tmp/err"
            fail "'$b' ($m): no error naming b.xml and an offset"
        }
        grep -qx 'freq: 1 of 2 documents could not be read or parsed' "$tmp/err" \
            || fail "'$b': no summary of the failure"
    done
done
echo "ok: corner cases count 7; ${#bad_docs[@]} malformed documents rejected, as python does"

# ---- 3. usage ----------------------------------------------------------------
echo "== usage: bad flags exit 2"
long=$(printf 'a%.0s' {1..65})
bad_args=(--bogus extra -x --mode --mode= --mode=parallel --mode=SERIAL "--mode=serial "
    --docs --docs= --docs=0 --docs=-1 --docs=+5 --docs=abc --docs=5x "--docs= 5" --docs=1000001
    --docs=99999999999999999999999 --topic= "--topic=two words" --topic=a-b --topic=caf$'\xc3\xa9'
    --topic=$long --dir --dir= --dump --dump=)
for a in "${bad_args[@]}"; do
    run 2 "$freq" "$a"
    [[ ! -s $tmp/out ]] || fail "'$a': wrote to stdout"
    grep -q '^freq: ' "$tmp/err" || fail "'$a': no message on stderr"
    grep -q '^usage: freq' "$tmp/err" || fail "'$a': no usage on stderr"
done
pairs=("--dir=$tmp/docs --docs=5" "--dir=$tmp/docs --dump=$tmp/x" "--dump=$tmp/x --mode=numcpu"
    "--dump=$tmp/x --topic=senate")
for p in "${pairs[@]}"; do
    read -ra args <<<"$p"
    run 2 "$freq" "${args[@]}"
    grep -q '^freq: --d' "$tmp/err" || fail "'$p': no message"
done
[[ ! -e $tmp/x ]] || fail "a refused --dump wrote files"
run 0 "$freq" --help
grep -q '^usage: freq' "$tmp/out" || fail "--help: no usage on stdout"
run 1 "$freq" --dir="$tmp/missing"
grep -q "^freq: $tmp/missing: No such file or directory" "$tmp/err" || fail "--dir missing"
mkdir "$tmp/empty"
run 1 "$freq" --dir="$tmp/empty"
grep -q "no .xml files" "$tmp/err" || fail "--dir empty"
echo "ok: ${#bad_args[@]} bad flags and ${#pairs[@]} bad combinations refused"

# ---- 4. traces -----------------------------------------------------------------
# traced MODE N [CHECK-LINE...]: runs freq with the trace on, dumps the trace
# and checks it with freq_trace.py: what every mode shares, then the lines
# given ("message | python expression over the summary s").
traced() {
    local m=$1 n=$2 t
    t=$(tasks_for "$1" "$2")
    shift 2
    CDEBUG=trace="$tmp/$m.trace" CDMAXPROCS=2 run 0 "$freq" --mode=$m --docs=$n
    cp "$tmp/out" "$tmp/$m.out"
    "$tool" dump "$tmp/$m.trace" >"$tmp/$m.dump" 2>"$tmp/$m.dumperr" || {
        show "$tmp/$m.dumperr"
        fail "$m: cdebug-trace dump failed"
    }
    {
        cat <<EOF
complete, nothing lost | s["status"] == "complete" and s["lost"] == 0
one freq user task, $t chunks | s["user_tasks"] == {"freq": 1, "chunk": $t}
the chunks are the run's children | s["chunk_parents"] == {str(s["freq_ids"][0]): $t}
every user task ends | s["user_task_ends"] == 1 + $t
the mode is logged in the run | s["logs"] == [["mode", "$m", s["freq_ids"][0]]]
$t pool tasks | s["task_names"] == {"freq.$m": $t}
one region of each step per document | all(s["regions"].get(r) == $n and s["region_ends"].get(r) == $n for r in ("load", "parse", "search"))
the regions belong to chunks | s["region_owner_ok"]
EOF
        printf '%s\n' "$@"
    } >"$tmp/$m.checks"
    "$python" "$helper" "$tmp/$m.dump" "$tmp/$m.checks" >"$tmp/$m.note" || fail "$m: trace check"
    echo "ok: $m: $(cat "$tmp/$m.note")"
}

echo "== traces: serial and numcpu, $tdocs documents, CDMAXPROCS=2"
half=$((tdocs / 2))
traced serial $tdocs \
    'every document parsed on one thread | len(s["region_threads"]["parse"]) == 1' \
    'one region open at a time | max(s["max_parallel"].values()) == 1'
traced numcpu $tdocs \
    'half of the documents parsed on each of two threads | sorted(s["region_threads"]["parse"].values()) == ['$half', '$half']' \
    'two documents parsed at the same time | s["max_parallel"]["parse"] == 2'
[[ $(head -n 1 "$tmp/serial.out") == "$(head -n 1 "$tmp/numcpu.out")" ]] \
    || fail "traced runs disagree: $(head -n 1 "$tmp/serial.out") / $(head -n 1 "$tmp/numcpu.out")"
grep -q '^[0-9.]*ms M[0-9]* REGION_BEGIN user_task=[0-9]* name="parse"$' "$tmp/numcpu.dump" \
    || fail "numcpu dump: no parse region line in the documented shape"

echo "== traces: fanout and bounded, $small documents, CDMAXPROCS=2"
traced fanout $small 'fanout spawns ahead of the workers | s["max_outstanding"] > 2'
traced bounded $small 'at most CDMAXPROCS tasks outstanding | s["max_outstanding"] <= 2'
echo "test_freq: ok"
