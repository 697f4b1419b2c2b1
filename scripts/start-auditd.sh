#!/usr/bin/env bash
# Starts the host's real auditd if it is not running (no systemd here), so the shim's end-to-end
# tests read a live /var/log/audit/audit.log. Tests load and remove their own rules.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then echo "auditd: not root, not started" >&2; exit 0; fi
if auditctl -s 2>/dev/null | grep -qE '^pid [1-9]'; then
  echo "auditd: running ($(auditctl -s | grep '^pid'))"
  exit 0
fi
mkdir -p /var/log/audit
/usr/sbin/auditd
for _ in $(seq 1 50); do
  auditctl -s 2>/dev/null | grep -qE '^pid [1-9]' && { echo "auditd: started"; exit 0; }
  sleep 0.1
done
echo "auditd: failed to start" >&2
auditctl -s >&2 || true
exit 1
