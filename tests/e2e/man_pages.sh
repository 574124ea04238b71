#!/usr/bin/env bash
# The manual pages pipelined(8) and pipelined.conf(5) render without a
# warning, and name every option of `pipelined --help`, every top-level
# setting, every aws { } setting and every stage option of the tables the
# daemon validates with (src/engine.c, src/options.c).
. "$(dirname "$0")/lib.sh"

man8="$top_builddir/man/pipelined.8"
man5="$top_builddir/man/pipelined.conf.5"
for page in "$man8" "$man5"; do
  [ -f "$page" ] || fail "$page was not built"
  # -ww: every warning; -z: no output. groff says nothing when all is well.
  groff -man -ww -z "$page" > "$work/groff.log" 2>&1 \
    || { cat "$work/groff.log"; fail "groff cannot render $page"; }
  [ ! -s "$work/groff.log" ] || { cat "$work/groff.log"; fail "groff warns about $page"; }
  if command -v man >/dev/null 2>&1; then
    chars=$(MANWIDTH=80 man --warnings -l "$page" 2> "$work/man.log.all" | wc -c)
    # Lines that cannot be broken or adjusted come from the paths configure
    # put in the page (make distcheck's are long); they are layout, not
    # markup. Any other warning fails.
    grep -vE "can't break line|cannot adjust line" "$work/man.log.all" > "$work/man.log" || true
    [ ! -s "$work/man.log" ] || { cat "$work/man.log"; fail "man warns about $page"; }
    [ "$chars" -gt 1000 ] || fail "man rendered $page empty"
  fi
  # Every .RS has its .RE before the next section: groff does not warn
  # about one left open, and what follows it renders indented, nested in
  # the item that opened it.
  awk '/^\.RS/ { depth++; opened = NR }
       /^\.RE/ { if (--depth < 0) { print FILENAME ":" NR ": .RE without .RS"; exit 1 } }
       /^\.S[HS]/ { if (depth) { print FILENAME ":" opened ": .RS not closed before line " NR; depth = 0; exit 1 } }
       END { if (depth) { print FILENAME ":" opened ": .RS not closed"; exit 1 } }' \
    "$page" > "$work/rs.log" || { cat "$work/rs.log"; fail "$page: unbalanced .RS/.RE"; }
  # A placeholder of the .in file that was not replaced.
  ! grep -n '@[a-zA-Z_]*@' "$page" || fail "$page has an unreplaced @placeholder@"
done
pass "both pages render without warnings"

# The page's source with \- as a plain hyphen and without font changes:
# what a reader searches for.
plain() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$1"; }
man8_text=$(plain "$man8")
man5_text=$(plain "$man5")

# Every option of --help (-c, --config, --once, ..., -V, -h).
"$PIPELINED" --help > "$work/help"
options=$(grep -oE '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' "$work/help" | sed 's/^[ ,]*//' | sort -u)
[ "$(echo "$options" | wc -l)" -ge 9 ] || fail "too few options found in --help: $options"
for opt in $options; do
  grep -qE -- "(^|[^a-zA-Z-])$opt([^a-zA-Z-]|\$)" <<< "$man8_text" \
    || fail "pipelined(8) does not document $opt (from pipelined --help)"
done
pass "pipelined(8) documents every option of --help"

# Every name of an option table: PL_OPTION_<TYPE>(<struct>, <field>, "<name>".
table_names() {
  tr '\n' ' ' < "$1" | grep -oE "PL_OPTION_[A-Z_]+\($2, *[a-z_]+, *\"[a-z_]+\"" \
    | sed -E 's/.*"([a-z_]+)"$/\1/'
}
check_names() {
  local what=$1 names=$2
  [ -n "$names" ] || fail "no $what found in the source"
  for name in $names; do
    grep -qE "(^|[^a-z_])$name([^a-z_]|\$)" <<< "$man5_text" \
      || fail "pipelined.conf(5) does not document the $what $name"
  done
}
check_names "top-level setting" "$(table_names "$top_srcdir/src/engine.c" pl_engine_settings_t)"
check_names "aws setting" "$(table_names "$top_srcdir/src/aws/aws_context.c" pl_aws_settings_t)"
check_names "stage option" "$(table_names "$top_srcdir/src/stage_options.c" pl_stage_options_t)"
pass "pipelined.conf(5) documents every setting and stage option"
