#!/usr/bin/env bash
# DNS benchmark: dnsperf against MCNS, Knot, NSD and the Node floor (see bench/dns/run.ts).
# Needs: apt-get install -y knot nsd dnsperf (taskset is in util-linux). Writes bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
for tool in dnsperf taskset; do
  command -v "$tool" >/dev/null || { echo "missing $tool (apt-get install -y dnsperf knot nsd)" >&2; exit 1; }
done
exec node --import tsx bench/dns/run.ts "$@"
