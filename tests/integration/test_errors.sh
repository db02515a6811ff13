#!/usr/bin/env bash
# tests/integration/test_errors.sh - every error code the library's sources
# return (-EXXX) or set (errno = EXXX) is in the table of tests/unit/test_errors.c, which checks
# that cd_strerror and cd_err_name know it. A new code without a text fails
# here first.
source "$(dirname "$0")/lib.sh"

table=$src/tests/unit/test_errors.c
[[ -f $table ]] || fail "$table missing"
mapfile -t used < <(cd "$src" && grep -rhoE -- '(-|errno = )E[A-Z0-9]{2,}\b' base runtime prof trace vars http reader include |
    sed -E 's/^(-|errno = )//' | sort -u)
((${#used[@]} >= 20)) || fail "only ${#used[@]} codes found in the sources: the grep is broken"
missing=()
for c in "${used[@]}"; do
    grep -q "E($c)" "$table" || missing+=("$c")
done
((${#missing[@]} == 0)) || fail "codes returned but not in test_errors.c's table: ${missing[*]}"
echo "ok: ${#used[@]} codes returned by the library, all in the table"
