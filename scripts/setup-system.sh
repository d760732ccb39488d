#!/usr/bin/env bash
# Installs the system packages the test suites and benchmarks use, from Debian's packages:
# HAProxy (cluster and failover suites), pgbouncer (transaction-mode pooling), HypoPG (index advice),
# promtool (alert rule validation), Chromium (browser tests), wrk (HTTP benchmarks).
# Idempotent: only missing packages are installed. Called by .ci/run; tests never install anything.
set -euo pipefail
packages=(haproxy pgbouncer postgresql-15-hypopg prometheus chromium wrk)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup-system: all of ${packages[*]} installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup-system: missing ${missing[*]} and not root: install them with apt-get" >&2
  exit 1
fi
echo "setup-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# The packaged services must not start on their default ports: tests start their own instances.
printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
trap 'rm -f /usr/sbin/policy-rc.d' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup-system: done"
