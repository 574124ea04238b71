#!/usr/bin/env bash
# Under a service manager (NOTIFY_SOCKET), the daemon says READY=1 once its
# pipelines have started, WATCHDOG=1 every half WATCHDOG_USEC, and
# RELOADING=1 then READY=1 around a SIGHUP reload, STOPPING=1 when SIGTERM
# starts the drain; to an abstract socket too, and
# without watchdog messages when WATCHDOG_PID names another process.
. "$(dirname "$0")/lib.sh"

mkdir -p "$work/in"
cat > "$work/daemon.conf" <<CONF
pipeline "watch" {
  source "file" { paths = ["$work/in"]; poll_interval = 100ms }
  transform "csv" { header = true }
  sink "file" { path = "$work/out.jsonl" }
}
CONF

# notify.py SOCKET WATCHDOG_PID: plays systemd. Binds SOCKET (a path, or
# @name), runs the daemon with NOTIFY_SOCKET and WATCHDOG_USEC=200000 (and
# WATCHDOG_PID when not empty), and prints what it was told, one message a
# line with \n as '|': until a second after READY=1, then SIGTERM, then
# until STOPPING=1. Ends with the daemon's exit status.
cat > "$work/notify.py" <<'PY'
import os, signal, socket, subprocess, sys, time
name, watchdog_pid, daemon, conf, log = sys.argv[1:6]
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind("\0" + name[1:] if name.startswith("@") else name)
env = dict(os.environ, NOTIFY_SOCKET=name, WATCHDOG_USEC="200000")
if watchdog_pid:
    env["WATCHDOG_PID"] = watchdog_pid
proc = subprocess.Popen([daemon, "-c", conf], env=env, stderr=open(log, "w"))

def receive(until):
    sock.settimeout(max(until - time.monotonic(), 0.001))
    try:
        return sock.recv(4096).decode()
    except socket.timeout:
        return None

def say(message):
    print(message.replace("\n", "|"), flush=True)

deadline = time.monotonic() + 20
while True:  # READY=1 first
    m = receive(deadline)
    if m is None:
        say("no READY=1 in 20 s")
        break
    say(m)
    if "READY=1" in m.split("\n"):
        break
deadline = time.monotonic() + 1
while (m := receive(deadline)) is not None:
    say(m)
say("SIGHUP")  # a reload: RELOADING=1, then READY=1 again
proc.send_signal(signal.SIGHUP)
deadline = time.monotonic() + 20
while (m := receive(deadline)) is not None:
    if not m.startswith("WATCHDOG=1"):
        say(m)
    if "READY=1" in m.split("\n"):
        break
say("SIGTERM")
proc.send_signal(signal.SIGTERM)
deadline = time.monotonic() + 20
while (m := receive(deadline)) is not None:
    say(m)
    if "STOPPING=1" in m.split("\n"):
        break
say("exit %d" % proc.wait(timeout=30))
PY

run() { python3 "$work/notify.py" "$1" "$2" "$PIPELINED" "$work/daemon.conf" "$work/log" \
  > "$work/told" || { cat "$work/log"; fail "notify.py failed"; }; }
told() { grep -c "^$1" "$work/told" || true; }
show() { echo "---- told:"; cat "$work/told"; echo "---- log:"; cat "$work/log"; }

run "$work/notify.sock" ""
[ "$(head -n 1 "$work/told")" = "READY=1|STATUS=running" ] || { show; fail "READY=1 is not the first message"; }
# Every 100 ms for the second after READY=1; a loaded machine may lose some.
watchdogs=$(told WATCHDOG=1)
[ "$watchdogs" -ge 4 ] || { show; fail "$watchdogs WATCHDOG=1 in the second after READY=1, expected about 10"; }
[ "$(sed -n '/^SIGHUP$/,/^SIGTERM$/p' "$work/told" | tr '\n' ' ')" = "SIGHUP RELOADING=1 READY=1|STATUS=running SIGTERM " ] \
  || { show; fail "SIGHUP did not say RELOADING=1 then READY=1"; }
sed -n '/^SIGTERM$/,$p' "$work/told" | grep -q '^STOPPING=1' || { show; fail "no STOPPING=1 after SIGTERM"; }
[ "$(tail -n 1 "$work/told")" = "exit 0" ] || { show; fail "the daemon did not exit 0"; }
pass "READY=1, then $watchdogs WATCHDOG=1 in a second, RELOADING=1 and READY=1 around SIGHUP, then STOPPING=1 after SIGTERM"

# The abstract namespace; WATCHDOG_PID of another process: no watchdog.
run "@pipelined-test-$$" 1
[ "$(head -n 1 "$work/told")" = "READY=1|STATUS=running" ] || { show; fail "no READY=1 on an abstract socket"; }
[ "$(told WATCHDOG=1)" -eq 0 ] || { show; fail "WATCHDOG=1 sent although WATCHDOG_PID is another process"; }
grep -q '^STOPPING=1' "$work/told" || { show; fail "no STOPPING=1 on an abstract socket"; }
pass "an @abstract NOTIFY_SOCKET; no watchdog for another WATCHDOG_PID"

# A NOTIFY_SOCKET that is not an address is said, and the daemon runs.
NOTIFY_SOCKET=relative/path "$PIPELINED" -c "$work/daemon.conf" 2> "$work/bad.log" &
pid=$!
cleanup_pids+=("$pid")
wait_for grep -q "watching it\|every source" "$work/bad.log" || { cat "$work/bad.log"; fail "the daemon did not start"; }
kill -TERM "$pid"
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 0 ] || { cat "$work/bad.log"; fail "exit status $rc with a bad NOTIFY_SOCKET"; }
expect_contains "$work/bad.log" "NOTIFY_SOCKET: not an absolute path or an @abstract name"
pass "a bad NOTIFY_SOCKET is logged and ignored"
