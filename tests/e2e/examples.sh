#!/usr/bin/env bash
# The plugins of examples/ build out of tree against an installed pipelined
# with nothing but pkg-config, pass their own tests (libpipelined-testing),
# install with DESTDIR, and run in a pipeline of the installed daemon:
# CSV -> transform-csv -> transform-fields -> sink-http, against a loopback
# server that records what is POSTed (and refuses the first POST, so that
# the retry is seen).
. "$(dirname "$0")/lib.sh"

pkg-config --exists check || { echo "SKIP: Check's pkg-config module is missing"; exit 77; }
command -v python3 >/dev/null || { echo "SKIP: no python3"; exit 77; }

dest=$(installed_tree)
pcdir=$(dirname "$(find "$dest" -name pipelined-testing.pc | head -n 1)")
[ -n "$pcdir" ] || fail "pipelined-testing.pc not installed"
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$dest"
libdir=$(pkg-config --variable=libdir pipelined)
export LD_LIBRARY_PATH="$libdir${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
plugindir=$(pkg-config --variable=plugindir pipelined)
[ -f "$libdir/libpipelined-testing.so" ] || fail "libpipelined-testing not installed in $libdir"

# The examples are built with the compiler and sanitizers of this build
# (a sanitized libpipelined needs a sanitized program to load it).
flags="-O1 -g ${PIPELINED_SAN_CFLAGS:-}"
staged="$work/staged"
for example in transform-fields sink-http; do
  # A copy: the source tree may be read-only (distcheck) and stays clean.
  cp -R "$top_srcdir/examples/$example" "$work/$example"
  chmod -R u+w "$work/$example"
  make -C "$work/$example" CC="${PIPELINED_CC:-cc}" CFLAGS="$flags" \
    LDFLAGS="${PIPELINED_SAN_CFLAGS:-}" all check > "$work/$example.log" 2>&1 \
    || { cat "$work/$example.log"; fail "$example: make check"; }
  expect_contains "$work/$example.log" "100%: Checks:"
  make -s -C "$work/$example" install DESTDIR="$staged" > /dev/null \
    || fail "$example: make install"
  [ -f "$staged$plugindir/$example.so" ] || fail "$example not installed in DESTDIR$plugindir"
done
pass "both examples build with pkg-config, pass make check and install with DESTDIR"

python3 "$top_srcdir/tests/tools/http_recorder.py" --port-file "$work/port" \
  --out "$work/posts" --fail-first 1 &
cleanup_pids+=($!)
wait_for test -s "$work/port"
port=$(cat "$work/port")

printf 'sku,site,qty,note\np1,depot,3,x\np2,shop,0,y\np3,depot,7,z\n' > "$work/in.csv"
cat > "$work/examples.conf" <<CONF
plugin_path = ["$plugindir", "$staged$plugindir"]
pipeline "examples" {
  source "file" { paths = ["$work/in.csv"] }
  transform "csv" { header = true }
  transform "fields" {
    set    { key = "\${sku}#\${site}" }
    rename { qty = "quantity" }
    drop   = ["note"]
  }
  sink "http" {
    url = "http://127.0.0.1:$port/ingest"
    retry_backoff = "10ms"
  }
}
CONF
bin=$(find "$dest" -path '*/bin/pipelined' | head -n 1)
[ -x "$bin" ] || fail "pipelined not installed"
env -u PIPELINED_PLUGIN_PATH "$bin" --once -c "$work/examples.conf" 2> "$work/log" \
  || { cat "$work/log"; fail "the pipeline of the examples"; }
expect_contains "$work/log" "HTTP 503: try again"

python3 - "$work/posts" <<'PY' || fail "what arrived is not what was sent"
import json, sys
rows = [row for line in open(sys.argv[1]) for row in json.loads(line)]
rows.sort(key=lambda r: r["sku"])
assert [r["sku"] for r in rows] == ["p1", "p2", "p3"], rows
assert [r["key"] for r in rows] == ["p1#depot", "p2#shop", "p3#depot"], rows
assert [str(r["quantity"]) for r in rows] == ["3", "0", "7"], rows
assert all("qty" not in r and "note" not in r for r in rows), rows
PY
pass "CSV -> fields -> http: every row arrived once, renamed and dropped, after a retry"
