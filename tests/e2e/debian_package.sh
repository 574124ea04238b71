#!/usr/bin/env bash
# debian/: scripts/build-deb (the Dockerfile's build stage runs it too)
# builds the pipelined and pipelined-dev packages with dpkg-buildpackage
# -us -uc -b from a copy of the source tree; each .deb holds what it
# should and nothing it should not, and the packaged daemon, unpacked
# (not installed) into a folder, runs etc/local.conf with its packaged
# libraries and plugins.
. "$(dirname "$0")/lib.sh"

# The package is built from the source alone: the sanitizer build would
# build the same packages again.
if [ "${PIPELINED_TEST_SCOPE:-full}" = sanitizers ]; then
  echo "SKIP: the packages do not depend on the build; scripts/test builds them" \
    "in its gcc build and in distcheck (PIPELINED_TEST_SCOPE=sanitizers)"
  exit 77
fi
for tool in dpkg-buildpackage dpkg-deb dh; do
  command -v "$tool" > /dev/null || {
    echo "SKIP: $tool not found: install the Debian packages dpkg-dev and debhelper" \
      "(scripts/install-deps does)"
    exit 77
  }
done

# A make of its own, not a part of the one running the tests.
unset MAKEFLAGS MFLAGS MAKELEVEL
start=$(date +%s)
DEB_BUILD_OPTIONS="nocheck noautodbgsym parallel=2" \
  "$top_srcdir/scripts/build-deb" "$work/debs" > "$work/build.log" 2>&1 \
  || { cat "$work/build.log"; fail "scripts/build-deb"; }
arch=$(dpkg-architecture -qDEB_HOST_ARCH)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
version=$(sed -n '1s/^pipelined (\([^)]*\)).*/\1/p' "$top_srcdir/debian/changelog")
deb="$work/debs/pipelined_${version}_$arch.deb"
dev="$work/debs/pipelined-dev_${version}_$arch.deb"
[ -f "$deb" ] && [ -f "$dev" ] || { ls -l "$work/debs"; fail "no pipelined and pipelined-dev .deb"; }
pass "dpkg-buildpackage built $(basename "$deb") and $(basename "$dev") in $(($(date +%s) - start)) s"

# dpkg-deb -c lists "./path" (and "./link -> target") in its 6th column.
dpkg-deb -c "$deb" | awk '{print substr($6, 2)}' > "$work/runtime.list"
dpkg-deb -c "$dev" | awk '{print substr($6, 2)}' > "$work/dev.list"
has() { # LIST PATH...
  local list=$1; shift
  for p in "$@"; do
    grep -qxF -- "$p" "$work/$list.list" || { cat "$work/$list.list"; fail "$list package lacks $p"; }
  done
}
lacks() { # LIST ERE: no path of LIST matches ERE
  ! grep -E -- "$2" "$work/$1.list" || fail "$1 package holds paths matching $2"
}

lib="/usr/lib/$multiarch"
plugins=(source-file transform-csv sink-file sink-dynamodb transform-schema sink-sqs source-sqs source-s3 sink-s3)
has runtime /usr/bin/pipelined "$lib/libpipelined.so.2" "$lib/libpipelined-aws.so.0" \
  /usr/share/man/man8/pipelined.8.gz /usr/share/man/man5/pipelined.conf.5.gz \
  /lib/systemd/system/pipelined.service /usr/share/bash-completion/completions/pipelined
for p in "${plugins[@]}"; do has runtime "$lib/pipelined/$p.so"; done
for f in inventory.conf inventory-history.conf local.conf file-to-sqs.conf \
    sqs-to-file.conf sample_inventory.csv; do
  has runtime "/etc/pipelined/$f"
done
lacks runtime '\.la$'
lacks runtime '^/usr/include/'
lacks runtime '\.pc$'
lacks runtime "^$lib/[^/]*\\.so\$"
lacks runtime 'testing'
pass "pipelined holds the daemon, $(grep -c "^$lib/pipelined/.*\.so$" "$work/runtime.list") plugins, libpipelined and libpipelined-aws, the manual pages, the unit, the completion and the configs ($(wc -l < "$work/runtime.list") paths)"

has dev /usr/include/pipelined/pipelined.h /usr/include/pipelined/plugin.h \
  /usr/include/pipelined/aws.h /usr/include/pipelined/embed.h /usr/include/pipelined/testing.h \
  "$lib/pkgconfig/pipelined.pc" "$lib/pkgconfig/pipelined-aws.pc" "$lib/pkgconfig/pipelined-testing.pc" \
  "$lib/libpipelined.so" "$lib/libpipelined-aws.so" "$lib/libpipelined-testing.so"
grep -qxF "$lib/libpipelined-testing.so.0.0.0" "$work/dev.list" || fail "pipelined-dev lacks libpipelined-testing"
# Every public header of the source tree is there.
for h in "$top_srcdir"/include/pipelined/*.h; do has dev "/usr/include/pipelined/$(basename "$h")"; done
lacks dev '\.la$'
lacks dev '^/usr/bin/'
lacks dev '^/etc/'
lacks dev "^$lib/pipelined/"
pass "pipelined-dev holds the headers, the .pc files, the link libraries and libpipelined-testing ($(wc -l < "$work/dev.list") paths)"

# The control data: the configs are conffiles; the dependencies name the
# libraries the daemon links, and libcurl, which it opens when a request
# needs it (no shlibs dependency: nothing links it); the unit is not enabled on install (it needs
# /etc/pipelined/pipelined.env first; deb-systemd-invoke starts no
# disabled unit), is restarted on upgrade and stopped on removal, and no
# user is made (the unit has DynamicUser=yes).
dpkg-deb -I "$deb" conffiles > "$work/conffiles"
for f in inventory.conf local.conf sample_inventory.csv; do
  expect_contains "$work/conffiles" "/etc/pipelined/$f"
done
dpkg-deb -f "$deb" Depends > "$work/depends"
for d in libuv1 libjansson4 libcurl4 libexpat1 libssl3 libcsv3 libltdl7; do
  expect_contains "$work/depends" "$d"
done
[ "$(dpkg-deb -f "$dev" Depends | grep -o "pipelined (= $version)")" = "pipelined (= $version)" ] \
  || fail "pipelined-dev does not depend on pipelined (= $version)"
dpkg-deb -e "$deb" "$work/control"
# dh_installsystemd --no-enable: enabled again on upgrade only if it was
# (debian-installed, was-enabled), never on a first install.
expect_contains "$work/control/postinst" "if deb-systemd-helper debian-installed 'pipelined.service'"
expect_contains "$work/control/postinst" 'deb-systemd-invoke $_dh_action'
expect_contains "$work/control/prerm" "deb-systemd-invoke stop 'pipelined.service'"
! grep -E 'adduser|useradd|systemd-sysusers' "$work/control/postinst" \
  || fail "the postinst makes a user"
pass "conffiles, dependencies and maintainer scripts"

# What the Dockerfile's stages ask apt for (its base is Debian 12 too):
# the build stage's `apt-get satisfy` of the Build-Depends that
# scripts/build-deb --build-deps prints, and the runtime stage's install
# of the pipelined .deb. Simulated (-s): nothing is installed here.
if command -v apt-get > /dev/null; then
  deps=$("$top_srcdir/scripts/build-deb" --build-deps)
  for d in 'debhelper-compat (= 13)' libuv1-dev libcurl4-openssl-dev check; do
    [[ "$deps" == *"$d"* ]] || fail "scripts/build-deb --build-deps lacks $d: $deps"
  done
  apt-get -s satisfy "$deps" > "$work/satisfy.log" 2>&1 \
    || { cat "$work/satisfy.log"; fail "apt-get satisfy cannot satisfy the Build-Depends: $deps"; }
  apt-get -s install ca-certificates "$deb" > "$work/apt.log" 2>&1 \
    || { cat "$work/apt.log"; fail "apt-get cannot install $(basename "$deb")"; }
  expect_contains "$work/apt.log" "Inst pipelined ($version"
  pass "apt can satisfy the Build-Depends and install the package (simulated, as the Dockerfile does)"
fi

# The packaged daemon, unpacked: it runs the packaged local.conf on the
# packaged sample with the packaged libraries and plugins only.
root="$work/root"
dpkg-deb -x "$deb" "$root"
export LD_LIBRARY_PATH="$root$lib"
export PIPELINED_PLUGIN_PATH="$root$lib/pipelined"
bin="$root/usr/bin/pipelined"
ldd "$bin" > "$work/ldd"
expect_contains "$work/ldd" "libpipelined.so.2 => $root$lib/libpipelined.so.2"
"$bin" --version > "$work/version"
expect_contains "$work/version" "${version%-*}"
# Linked with jemalloc, the packaged executable sets its thread-cache
# options as the built one does (tests/e2e/allocator.sh), and depends on it.
if grep -q libjemalloc "$work/ldd"; then
  expect_contains "$work/depends" libjemalloc2
  if readelf --dyn-syms -W "$bin" | grep -qw malloc_conf; then
    MALLOC_CONF=stats_print:true "$bin" --version > "$work/jemalloc.stats" 2>&1
    expect_contains "$work/jemalloc.stats" "opt.lg_tcache_nslots_mul: 3"
    pass "the packaged pipelined runs jemalloc with its own thread cache"
  fi
fi
INPUT="$root/etc/pipelined/sample_inventory.csv" OUTPUT="$work/out.jsonl" REJECTS="$work/bad.jsonl" \
  "$bin" --once -c "$root/etc/pipelined/local.conf" 2> "$work/run.log" \
  || { cat "$work/run.log"; fail "the packaged pipelined does not run the packaged local.conf"; }
[ "$(count_lines "$work/out.jsonl")" -eq 21 ] || fail "expected 21 rows, got $(count_lines "$work/out.jsonl")"
[ "$(count_lines "$work/bad.jsonl")" -eq 0 ] || fail "unexpected rejects"
python3 - "$work/out.jsonl" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert rows[0] == {"product_id": "P001", "location": "Warehouse A",
                   "quantity": 100, "update_date": "2023-05-01"}, rows[0]
assert rows[20]["product_id"] == "P0021" and rows[20]["quantity"] == 50, rows[20]
PY
expect_contains "$work/run.log" '21 record(s) delivered, 0 rejected'
pass "the packaged pipelined runs local.conf on the packaged sample: 21 typed rows"

# The plugins came from the package: without them (and with no installed
# plugin directory on this machine) the same run cannot find them.
if [ ! -e "$lib/pipelined" ]; then
  set +e
  PIPELINED_PLUGIN_PATH="$work/empty" INPUT=/dev/null OUTPUT="$work/o" REJECTS="$work/r" \
    "$bin" --check -c "$root/etc/pipelined/local.conf" > "$work/noplugins.log" 2>&1
  rc=$?
  set -e
  [ "$rc" -eq 2 ] || { cat "$work/noplugins.log"; fail "--check without the packaged plugins exited $rc, not 2"; }
  expect_contains "$work/noplugins.log" "source-file"
  pass "without the packaged plugin directory the config names a plugin it cannot find"
fi
echo "debian_package.sh took $(($(date +%s) - start)) s"
