#!/usr/bin/env bash
# A user clones only this repository (HACKING.md#s15): no file of it may
# point at a folder beside the checkout or at documents that are not in it.
# (scripts/test also runs the whole suite from a copy with nothing beside
# it; this test names the file that would break that.)
. "$(dirname "$0")/lib.sh"
cd "$top_srcdir"
# The patterns are split so that this file does not match itself: the
# folder beside the checkout, the documents in it, and the absolute folder
# of the workplace this repository was written in.
outside='\.\./'"shared|DESIGN"'\.md|STYLE\.md|(^|[^~.[:alnum:]_-])/'"work/"
hits=$(grep -rlE "$outside" --exclude-dir=.git --exclude-dir=build --exclude-dir=node_modules \
         --exclude-dir=autom4te.cache --exclude-dir='pipelined-*' \
         README.md HACKING.md docs etc src include plugins scripts tests bench deploy \
         Makefile.am configure.ac 2>/dev/null || true)
[ -z "$hits" ] || fail "these files point outside the repository: $(echo $hits)"
pass "no file points outside the repository"

for f in docs/architecture.md HACKING.md tests/data/sample_inventory.csv \
         tests/data/aws-sigv4-test-suite/LICENSE tests/data/aws-sigv4-test-suite/NOTICE; do
  [ -s "$f" ] || fail "$f is missing"
done
# Every HACKING.md#sN that a comment cites is an anchor of HACKING.md.
for anchor in $(grep -rhoE 'HACKING\.md#s[0-9]+' src include plugins tests | sort -u | sed 's/.*#//'); do
  grep -q "<a id=\"$anchor\"></a>" HACKING.md || fail "HACKING.md has no anchor $anchor"
done
pass "docs/architecture.md, HACKING.md and tests/data are in the repository"
