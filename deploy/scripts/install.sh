#!/usr/bin/env bash
# Install MCNS on a systemd host from a checkout of this repository:
#   sudo deploy/scripts/install.sh            # install or upgrade, enable the service and the daily snapshot
#   sudo deploy/scripts/install.sh --no-start # install only
# Layout: code in /opt/mcns, `mcns` on the PATH (/usr/local/bin/mcns), data in /srv/mcns
# (mcns.toml, mcns.db, certs/, backups/), units in /etc/systemd/system.
# Needs Node 20 and npm; a C++ toolchain only if no prebuilt better-sqlite3 matches the platform.
set -euo pipefail

PREFIX=${PREFIX:-/opt/mcns}
DATA=${DATA:-/srv/mcns}
BIN=${BIN:-/usr/local/bin}
UNITS=${UNITS:-/etc/systemd/system}
START=1

for arg in "$@"; do
  case "$arg" in
    --no-start) START=0 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "install.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

if [[ $EUID -ne 0 ]]; then
  echo "install.sh: run as root (it creates the mcns user, $PREFIX and $DATA)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [[ $node_major -lt 20 || $node_major -gt 22 ]]; then
  echo "install.sh: Node 20 (>=20 <23) is required, found $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi

# 1. The service account.
if ! id mcns >/dev/null 2>&1; then
  useradd --system --home-dir "$DATA" --shell /usr/sbin/nologin mcns
fi

# 2. The code, with production dependencies only.
install -d -m 0755 "$PREFIX"
cp -R "$REPO/bin" "$REPO/src" "$REPO/proto" "$REPO/package.json" "$REPO/package-lock.json" "$REPO/tsconfig.json" "$REPO/RUNBOOK.md" "$PREFIX/"
(cd "$PREFIX" && npm ci --omit=dev --no-audit --no-fund)
chmod 0755 "$PREFIX/bin/mcns"
ln -sf "$PREFIX/bin/mcns" "$BIN/mcns"

# 3. The data directory; an existing config is never overwritten.
install -d -m 0750 -o mcns -g mcns "$DATA" "$DATA/certs" "$DATA/backups"
if [[ ! -e "$DATA/mcns.toml" ]]; then
  install -m 0640 -o mcns -g mcns "$REPO/deploy/examples/mcns.toml" "$DATA/mcns.toml"
  echo "install.sh: wrote $DATA/mcns.toml from the example: set [server] tls_cert/tls_key and [mcias] server_url"
fi

# 4. systemd units.
install -m 0644 "$REPO/deploy/systemd/mcns.service" "$REPO/deploy/systemd/mcns-backup.service" "$REPO/deploy/systemd/mcns-backup.timer" "$UNITS/"
systemctl daemon-reload
systemctl enable mcns.service mcns-backup.timer
if [[ $START -eq 1 ]]; then
  systemctl restart mcns.service
  systemctl start mcns-backup.timer
  echo "install.sh: started; check with: mcns status --addr https://localhost:8443 --ca-cert $DATA/certs/ca.pem"
fi
