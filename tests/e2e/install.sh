#!/usr/bin/env bash
# `make install-data` into a DESTDIR puts the manual pages, the systemd
# unit, the bash completion and the sample configurations in place; a reinstall keeps a config that was edited, and
# uninstall removes only the ones still as shipped.
. "$(dirname "$0")/lib.sh"

# A make of its own, not a part of the one running the tests.
unset MAKEFLAGS MFLAGS MAKELEVEL
root="$work/root"
mk() { make -s -C "$top_builddir" "$@" DESTDIR="$root" > "$work/make.log" 2>&1 \
  || { cat "$work/make.log"; fail "make $*"; }; }
mk install-data

find_one() {
  local found
  found=$(find "$root" -path "$1" | head -n 1)
  [ -n "$found" ] || { find "$root" -type f; fail "nothing installed matches $1"; }
  echo "$found"
}
find_one '*/man8/pipelined.8' > /dev/null
find_one '*/man5/pipelined.conf.5' > /dev/null
pass "manual pages installed"

confdir=$(dirname "$(find_one '*/pipelined/inventory.conf')")
for f in inventory.conf inventory-history.conf local.conf file-to-sqs.conf \
    sqs-to-file.conf sample_inventory.csv; do
  cmp -s "$top_srcdir/etc/$f" "$confdir/$f" || fail "$confdir/$f is not etc/$f"
done
pass "sample configurations installed in ${confdir#"$root"}"

# The systemd unit, under the prefix (configure --with-systemdsystemunitdir).
unit=$(find_one '*/lib/systemd/system/pipelined.service')
cmp -s "$top_builddir/systemd/pipelined.service" "$unit" || fail "$unit is not the generated unit"
pass "systemd unit installed in $(dirname "${unit#"$root"}")"

# The bash completion, under the name bash-completion loads it by.
completion=$(find_one '*/bash-completion/completions/pipelined')
cmp -s "$top_srcdir/completion/pipelined.bash" "$completion" || fail "$completion is not completion/pipelined.bash"
pass "bash completion installed in $(dirname "${completion#"$root"}")"

# The installed sample runs: local.conf over the installed CSV.
INPUT="$confdir/sample_inventory.csv" OUTPUT="$work/out.jsonl" REJECTS="$work/bad.jsonl" \
  "$PIPELINED" --once -c "$confdir/local.conf" 2> "$work/run.log" \
  || { cat "$work/run.log"; fail "the installed local.conf does not run"; }
[ "$(count_lines "$work/out.jsonl")" -gt 0 ] || fail "the installed local.conf wrote nothing"
pass "the installed local.conf runs on the installed sample CSV"

echo "# edited" >> "$confdir/local.conf"
mk install-data
expect_contains "$confdir/local.conf" "# edited"
pass "a reinstall keeps an edited config"

mk uninstall-local
[ ! -e "$confdir/inventory.conf" ] || fail "uninstall left inventory.conf"
expect_contains "$confdir/local.conf" "# edited"
pass "uninstall removes the configs as shipped and keeps an edited one"
