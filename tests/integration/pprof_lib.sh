# tests/integration/pprof_lib.sh - what the real `go tool pprof` shows of a
# profile: a function's flat value in a -top listing, and the source views
# of a function (sourced after lib.sh, whose go_env sets up go; not run). pprof reads the binaries where the profile's
# mappings say they are. It also guesses a trim path from the base name of
# its working directory (build/tests under CTest: "/tests/" is in every
# source path here, which it would strip): scripts that use views run it
# from $tmp.
[[ -n ${tmp:-} ]] || { echo "pprof_lib.sh: source lib.sh first" >&2; exit 1; }

# flat FILE FUNC: the flat value of FUNC in a -top output (empty when absent).
flat() { awk -v f="$2" '$NF == f && NF == 6 { print $1; exit }' "$1"; }

# want_flat FILE FUNC VALUE WHAT: FUNC's flat in the -top output FILE is VALUE.
want_flat() {
    local v
    v=$(flat "$1" "$2")
    [[ $v == "$3" ]] || { cat "$1" >&2; fail "$4: $2 is '$v', want $3"; }
}

# not_in_top FILE FUNC WHAT: FUNC is not in the -top output FILE.
not_in_top() {
    [[ -z $(flat "$1" "$2") ]] || { cat "$1" >&2; fail "$3: $2 is in the profile"; }
}

# line FILE TEXT: the number of the line of FILE holding TEXT.
line() { grep -n -F -- "$2" "$1" | head -n 1 | cut -d: -f1; }

# gopp OUT ARGS...: `go tool pprof ARGS` with stdout in OUT; its stderr
# is shown on failure, the failure being the caller's to report.
gopp() {
    local out=$1
    shift
    timeout -k 5 120 go tool pprof "$@" >"$out" 2>"$tmp/pp.err" || {
        cat "$tmp/pp.err" >&2
        return 1
    }
}

# views PROFILE FUNC SRC MARKER: -list, -disasm and -weblist of FUNC
# (defined in SRC, whose line holding MARKER carries the samples). In a
# heap profile (a PROFILE whose name holds "heap") the instruction with
# samples is the allocation's call.
views() {
    local prof=$1 func=$2 file=$3 marker=$4 n what
    n=$(line "$file" "$marker")
    what="${prof##*/} $func"
    # -list: the function's source, the marker line with a flat value.
    gopp "$tmp/list" -list "^$func\$" "$prof" || fail "$what: -list failed"
    grep -q "^ROUTINE =* $func in $file\$" "$tmp/list" || { cat "$tmp/list"; fail "$what: -list: no routine"; }
    awk -v n="$n:" '$3 == n && $1 != "." { found = 1 } END { exit !found }' "$tmp/list" ||
        { cat "$tmp/list"; fail "$what: -list: no samples on line $n"; }
    # -disasm: the function's instructions, one of them with samples (an
    # allocation's: the call). The regexp is unanchored: pprof matches it
    # against "ADDRESS NAME FILE:LINE" here.
    gopp "$tmp/disasm" -disasm "$func\\b" "$prof" || fail "$what: -disasm failed"
    grep -q "^ROUTINE =* $func\$" "$tmp/disasm" || { cat "$tmp/disasm"; fail "$what: -disasm: no routine"; }
    local want='[0-9A-Z]'
    [[ $prof == *heap* ]] && want='CALL'
    awk -v want="$want" '$3 ~ /^[0-9a-f]+:$/ && $1 != "." && $4 ~ want { found = 1 } END { exit !found }' \
        "$tmp/disasm" || { cat "$tmp/disasm"; fail "$what: -disasm: no instruction with samples"; }
    # Exactly the function's samples on its instructions, with the stacks
    # through it alone (-focus): go tool pprof matches samples to
    # instructions by address whatever their file, and other files' own
    # addresses may coincide (docs/profiling.md).
    gopp "$tmp/fdisasm" -focus "^$func\$" -disasm "$func\\b" "$prof" || fail "$what: -focus -disasm failed"
    local lsum dsum
    lsum=$(awk '/\(flat, cum\)/ { print $1; exit }' "$tmp/list")
    dsum=$(awk '/\(flat, cum\)/ { print $1; exit }' "$tmp/fdisasm")
    [[ -n $lsum && $lsum == "$dsum" ]] || { cat "$tmp/list" "$tmp/fdisasm"; fail "$what: -disasm flat $dsum, -list $lsum"; }
    # -weblist: the marker line is live source with its instructions
    # nested under it, each naming its file:line.
    gopp "$tmp/web.out" -weblist "^$func\$" -output "$tmp/web.html" "$prof" || fail "$what: -weblist failed"
    web_ok "$tmp/web.html" "$marker" "${file##*/}:$n" || fail "$what: -weblist: no source with assembly"
    ok "$what: -list, -disasm ($dsum), -weblist"
}

# web_ok HTML MARKER FILE:LINE: pprof's source page shows the line holding
# MARKER as live source with instructions of FILE:LINE nested under it.
web_ok() {
    awk -v m="$2" -v fl="$3" '
        !on && index($0, m) { on = 1; live = ($0 ~ /class=livesrc/) }
        on { if ($0 ~ /[0-9a-f]+: / && index($0, fl)) k++; if ($0 == "</span>") exit }
        END { exit !(live && k > 0) }' "$1" && return 0
    sed 's/<[^>]*>//g' "$1" | grep -v '^ *$' | tail -n 20
    return 1
}
