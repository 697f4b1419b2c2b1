#!/usr/bin/env bash
# Starts the host's real auditd if it is not running (no systemd here), then proves it writes:
# a user message sent with `auditctl -m` must reach /var/log/audit/audit.log. Tests load and
# remove their own rules.
#
# The kernel keeps the pid of the last registered auditd after that process is killed (until it
# next fails to deliver a record), so "pid N" from `auditctl -s` is trusted only when process N is
# alive and is auditd. A machine whose previous auditd was killed otherwise looks "running" while
# every record goes to the kernel log instead.
set -euo pipefail
log=/var/log/audit/audit.log
if [ "$(id -u)" != 0 ]; then echo "auditd: not root, not started" >&2; exit 0; fi

registered() { auditctl -s 2>/dev/null | awk '$1 == "pid" { print $2 }'; }
# Alive: the process exists, is auditd, and is not a zombie (a just-killed auditd lingers as one).
alive() {
  [ -n "$1" ] && [ "$1" != 0 ] && [ "$(cat "/proc/$1/comm" 2>/dev/null)" = auditd ] &&
    ! awk '{ exit ($3 == "Z" || $3 == "X") ? 0 : 1 }' "/proc/$1/stat" 2>/dev/null
}

pid=$(registered)
if alive "$pid"; then
  echo "auditd: running (pid $pid)"
else
  [ -n "$pid" ] && [ "$pid" != 0 ] && echo "auditd: the kernel names pid $pid, which is not a live auditd; starting a new one"
  mkdir -p /var/log/audit
  /usr/sbin/auditd
  for _ in $(seq 1 50); do
    pid=$(registered)
    alive "$pid" && break
    sleep 0.1
  done
  if ! alive "$pid"; then
    echo "auditd: failed to start" >&2
    auditctl -s >&2 || true
    exit 1
  fi
  echo "auditd: started (pid $pid)"
fi

# The kernel's own queue (backlog_limit 64) drops records in an exec burst; Debian's audit.rules
# raises it to 8192, which this script does not load (it starts auditd without augenrules).
if [ "$(auditctl -s | awk '$1 == "backlog_limit" { print $2 }')" -lt 8192 ]; then
  auditctl -b 8192 >/dev/null
  echo "auditd: kernel backlog_limit raised to 8192"
fi

probe="audited-exec-probe-$$-$(date +%s%N)"
auditctl -m "$probe"
for _ in $(seq 1 100); do
  if grep -qF "$probe" "$log" 2>/dev/null; then
    echo "auditd: writes to $log"
    exit 0
  fi
  sleep 0.1
done
echo "auditd: a probe message did not reach $log within 10 s" >&2
auditctl -s >&2 || true
df -h "$(dirname "$log")" >&2 || true
tail -n 5 "$log" >&2 || true
exit 1
