#!/usr/bin/env bash
# docs/plugins.md is what scripts/gen-plugin-docs renders from the plugins.
. "$(dirname "$0")/lib.sh"
"$top_srcdir/scripts/gen-plugin-docs" "$PIPELINED" > "$work/plugins.md"
diff -u "$top_srcdir/docs/plugins.md" "$work/plugins.md" \
  || fail "docs/plugins.md is out of date: run scripts/gen-plugin-docs PIPELINED > docs/plugins.md"
pass "docs/plugins.md matches the option tables"
