#!/usr/bin/env bash
# DNS benchmark: dnsperf against the real MCNS server (bin/mcns server --config), Knot and NSD on the
# same generated zones (see bench/dns/run.ts). Needs: apt-get install -y knot nsd dnsperf openssl
# (taskset is in util-linux), python3. Writes the "DNS" section of bench/RESULTS.md.
# Usage: bash bench/dns/run.sh [--seconds 10] [--skip-1m] [--no-write]
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in dnsperf taskset python3 openssl; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y dnsperf knot nsd openssl)" >&2; exit 1; }
done
exec node --import tsx bench/dns/run.ts "$@"
