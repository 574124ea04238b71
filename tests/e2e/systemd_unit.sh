#!/usr/bin/env bash
# systemd/pipelined.service (generated from its .in) passes
# `systemd-analyze verify` with its binary and manual pages present, is
# sandboxed (`systemd-analyze security` exposure under 2.5 of 10), and
# keeps the promises docs/operations.md makes about it.
. "$(dirname "$0")/lib.sh"

unit="$top_builddir/systemd/pipelined.service"
[ -f "$unit" ] || fail "$unit was not built"
command -v systemd-analyze > /dev/null \
  || fail "systemd-analyze not found: install the Debian package systemd (scripts/install-deps)"
! grep -n '@[a-zA-Z_]*@' "$unit" || fail "$unit has an unreplaced @placeholder@"

setting() { sed -n "s/^$1=//p" "$unit"; }
exec_start=$(setting ExecStart)
[[ "$exec_start" =~ ^/.*/pipelined\ -c\ /.*/pipelined/inventory\.conf$ ]] \
  || fail "ExecStart is not <bindir>/pipelined -c <sysconfdir>/pipelined/inventory.conf: $exec_start"
[ "$(setting Type)" = notify ] || fail "Type is not notify"
[ -n "$(setting WatchdogSec)" ] || fail "no WatchdogSec"
[ "$(setting Restart)" = on-failure ] || fail "Restart is not on-failure"
[ "$(setting DynamicUser)" = yes ] || fail "DynamicUser is not yes"
[ "$(setting StateDirectory)" = pipelined ] || fail "StateDirectory is not pipelined"
# systemctl reload sends SIGHUP, which reloads the config.
[ "$(setting ExecReload)" = '/bin/kill -HUP $MAINPID' ] \
  || fail "ExecReload is not kill -HUP \$MAINPID: $(setting ExecReload)"
# Longer than the default shutdown_timeout, so that a drain is not killed.
stop=$(setting TimeoutStopSec)
[[ "$stop" =~ ^([0-9]+)s$ ]] || fail "TimeoutStopSec is not in seconds: $stop"
drain=$(tr '\n' ' ' < "$top_srcdir/src/engine.c" \
  | grep -oE '"shutdown_timeout", *"[0-9]+s"' | grep -oE '[0-9]+s"$' | tr -d 's"')
[ -n "$drain" ] || fail "no default shutdown_timeout found in src/engine.c"
[ "${BASH_REMATCH[1]}" -gt "$drain" ] \
  || fail "TimeoutStopSec=$stop is not above shutdown_timeout (${drain}s)"
pass "the unit runs <bindir>/pipelined -c <sysconfdir>/pipelined/inventory.conf as Type=notify"

# verify checks that ExecStart's binary exists and is executable and that
# the Documentation= pages open: the built binary and pages stand in for
# the installed ones.
mkdir -p "$work/unit" "$work/man/man8" "$work/man/man5"
cp "$top_builddir/man/pipelined.8" "$work/man/man8/"
cp "$top_builddir/man/pipelined.conf.5" "$work/man/man5/"
sed "s|^ExecStart=[^ ]*|ExecStart=$PIPELINED|" "$unit" > "$work/unit/pipelined.service"
MANPATH="$work/man" systemd-analyze verify "$work/unit/pipelined.service" \
  > "$work/verify.log" 2>&1 || { cat "$work/verify.log"; fail "systemd-analyze verify failed"; }
[ ! -s "$work/verify.log" ] || { cat "$work/verify.log"; fail "systemd-analyze verify complains"; }
pass "systemd-analyze verify accepts the unit"

systemd-analyze security --offline=yes --threshold=25 "$work/unit/pipelined.service" \
  > "$work/security.log" 2>&1 || { cat "$work/security.log"; fail "the unit is not sandboxed enough"; }
pass "$(grep -o 'Overall exposure level.*' "$work/security.log")"
