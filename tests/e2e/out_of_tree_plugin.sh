#!/usr/bin/env bash
# `make install` puts headers, libpipelined and pipelined.pc in place; the
# plugin guide's example builds out of tree with pkg-config and runs.
. "$(dirname "$0")/lib.sh"

dest=$(installed_tree)
pcdir=$(dirname "$(find "$dest" -name pipelined.pc | head -n 1)")
[ -n "$pcdir" ] || fail "pipelined.pc not installed"
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$dest"
pkg-config --exists pipelined || fail "pkg-config does not find pipelined"
plugindir=$(pkg-config --variable=plugindir pipelined)
[ -f "$plugindir/sink-file.so" ] || fail "plugins not installed in plugindir ($plugindir)"
[ -f "$(pkg-config --variable=includedir pipelined)/pipelined/plugin.h" ] || fail "headers not installed"

mkdir -p "$work/plugins"
${CC:-cc} -std=gnu11 -Wall -Wextra -Werror -Wno-unused-parameter -shared -fPIC \
  -o "$work/plugins/transform-upper.so" "$top_srcdir/docs/examples/transform_upper.c" \
  $(pkg-config --cflags --libs pipelined)
pass "the example plugin builds out of tree with pkg-config"

printf 'product_id,location,quantity,update_date\np1,Depot,1,2024-01-01\n' > "$work/in.csv"
# Relative: resolved against the config file's directory, not the working
# directory (the run below starts from /).
cat > "$work/upper.conf" <<CONF
plugin_path = ["plugins"]
pipeline "upper" {
  source "file" { paths = ["$work/in.csv"] }
  transform "csv" { header = true }
  transform "upper" { field = "product_id" }
  sink "file" { path = "$work/out.jsonl" }
}
CONF
"$PIPELINED" --describe transform-upper > /dev/null 2>&1 && fail "found without plugin_path?" || true
(cd / && "$PIPELINED" --once -c "$work/upper.conf") 2> "$work/log" || { cat "$work/log"; fail "run"; }
[ "$(json_field "$work/out.jsonl" 1 product_id)" = "P1" ] || fail "the plugin did not run"
pass "an out-of-tree plugin runs from plugin_path"
