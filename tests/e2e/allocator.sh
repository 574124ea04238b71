#!/usr/bin/env bash
# The executable's allocator: jemalloc when configure found it (not in
# sanitizer builds); from jemalloc 5.3 on, with the thread cache
# src/main.c sets (eight slabs' worth of each small size, at most 2,000;
# its collector trims one size after every MiB allocated), which
# MALLOC_CONF in the environment still overrides; the system allocator
# otherwise.
. "$(dirname "$0")/lib.sh"

exe="$top_builddir/.libs/pipelined"
[ -f "$exe" ] || exe="$top_builddir/pipelined"
readelf -d "$exe" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' > "$work/needed"

# jemalloc's view of its options, printed at exit.
options() {
  MALLOC_CONF="${1:+$1,}stats_print:true" "$PIPELINED" --version 2>&1 |
    sed -n 's/^ *opt\.\(lg_tcache_nslots_mul\|tcache_nslots_small_max\|tcache_gc_incr_bytes\): /\1=/p' |
    tr '\n' ' '
}

if ! grep -q '^#define PL_JEMALLOC 1' "$top_builddir/build_config.h"; then
  if grep -q '^libjemalloc' "$work/needed"; then
    fail "built without jemalloc, yet the executable links $(grep '^libjemalloc' "$work/needed")"
  fi
  if readelf --dyn-syms -W "$exe" | grep -qw malloc_conf; then
    fail "built without jemalloc, yet the executable defines malloc_conf"
  fi
  pass "built without jemalloc: the executable links no jemalloc and sets no options"
  exit 0
fi

grep -q '^libjemalloc' "$work/needed" || { cat "$work/needed"; fail "configured with jemalloc, yet the executable does not link it"; }
if ! grep -q '^#define PL_JEMALLOC_OPTIONS 1' "$top_builddir/build_config.h"; then
  # jemalloc before 5.3: its defaults, and no complaint of unknown options.
  if readelf --dyn-syms -W "$exe" | grep -qw malloc_conf; then
    fail "jemalloc before 5.3, yet the executable sets malloc_conf"
  fi
  "$PIPELINED" --version > /dev/null 2> "$work/stderr"
  [ ! -s "$work/stderr" ] || { cat "$work/stderr"; fail "pipelined --version wrote to stderr"; }
  pass "jemalloc before 5.3: its own defaults"
  exit 0
fi
readelf --dyn-syms -W "$exe" | grep -qw malloc_conf || fail "the executable does not export malloc_conf"
got=$(options "")
[ "$got" = "tcache_nslots_small_max=2000 lg_tcache_nslots_mul=3 tcache_gc_incr_bytes=1048576 " ] ||
  fail "jemalloc's options are not the executable's: '$got'"
pass "jemalloc runs with the executable's thread cache: $got"

got=$(options "lg_tcache_nslots_mul:1")
[ "$got" = "tcache_nslots_small_max=2000 lg_tcache_nslots_mul=1 tcache_gc_incr_bytes=1048576 " ] ||
  fail "MALLOC_CONF does not override the executable's options: '$got'"
pass "MALLOC_CONF overrides them: $got"

# pipelined(8) names the options the executable sets.
for opt in tcache_nslots_small_max:2000 lg_tcache_nslots_mul:3 tcache_gc_incr_bytes:1048576; do
  grep -q "$opt" "$top_builddir/man/pipelined.8" || fail "pipelined(8) does not name $opt"
done
pass "pipelined(8) names them"
