#!/usr/bin/env bash
# Debian packages the end-to-end tests use: real auditd, runc + busybox-static for sandbox pods,
# Chromium for browser tests, asciinema to check recordings, tini for the
# attribution scenarios' subreaper shapes, stress-ng for `npm run test:under-load`,
# a one-node Ceph (mon, osd, radosgw) as the real S3 server of the object-store tests, postgresql
# for the PostgreSQL store's tests (they start their own server; the default cluster is stopped),
# haproxy to balance the replicas test's recorders (it starts its own; the service is stopped).
# rsyslog (+ its GnuTLS driver and RELP input) as the real syslog receiver of the SIEM export tests (they start their own).
# Idempotent; needs root to install. With arguments, only those packages (the demo needs three).
set -euo pipefail
pkgs=(auditd runc busybox-static chromium asciinema tini stress-ng ceph-mon ceph-osd radosgw ceph-common postgresql haproxy rsyslog rsyslog-gnutls rsyslog-relp)
[ $# -gt 0 ] && pkgs=("$@")
need=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || need+=("$p")
done
if [ ${#need[@]} -eq 0 ]; then
  echo "system deps: all present (${pkgs[*]})"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "system deps: missing ${need[*]} and not root; end-to-end tests that need them will skip" >&2
  exit 0
fi
echo "system deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
# Installing postgresql starts a default cluster on 5432: nothing should listen by default.
pg_ctlcluster 15 main stop 2>/dev/null || true
# Installing haproxy starts its service on the default config: tests run their own.
if command -v systemctl >/dev/null; then systemctl disable --now haproxy 2>/dev/null || true; fi
pkill -x haproxy 2>/dev/null || true
