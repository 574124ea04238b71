# Sourced by the integration tests that run once per scripts/test: skip
# (77), saying why, outside its gcc build or without the plugin they need.
# needs_full_build_and WHAT PLUGIN  (WHAT: "the poison test", ...)
# shellcheck shell=bash
needs_full_build_and() {
  if [ "${PIPELINED_TEST_SCOPE:-full}" != full ]; then
    echo "SKIP: $1 runs in the gcc build of scripts/test" \
      "(PIPELINED_TEST_SCOPE=${PIPELINED_TEST_SCOPE})"
    exit 77
  fi
  if ! "$PIPELINED" --describe "$2" >/dev/null 2>&1; then
    echo "SKIP: the $2 plugin is not built (PIPELINED_PLUGIN_PATH=${PIPELINED_PLUGIN_PATH:-})"
    exit 77
  fi
}

# soak_or QUICK SOAK: prints SOAK under SOAK=1 (make soak: the longer
# versions of the fault tests), else QUICK.
soak_or() {
  if [ "${SOAK:-0}" = 1 ]; then echo "$2"; else echo "$1"; fi
}
