#!/usr/bin/env bash
# Installs berthd as a systemd service: writes /etc/systemd/system/berthd.service from
# berthd.service.in (with this checkout's absolute path) and, when systemd runs, reloads and
# enables it. Idempotent. Run ops/setup.sh first so bin/berthd works. Needs root.
#
#   ops/systemd/install.sh [--start]     --start: also start (or restart) it now
set -euo pipefail

BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
unit=/etc/systemd/system/berthd.service
start=false
case "${1:-}" in
  "") ;;
  --start) start=true ;;
  *) echo "install: unknown argument $1 (only --start)" >&2; exit 2 ;;
esac
(( EUID == 0 )) || { echo "install: must run as root" >&2; exit 1; }

tmp="$(mktemp)"
sed "s#@BERTH_HOME@#${BERTH_HOME}#g" "$BERTH_HOME/ops/systemd/berthd.service.in" > "$tmp"
if ! cmp -s "$tmp" "$unit" 2>/dev/null; then
  install -m 0644 "$tmp" "$unit"
  echo "install: wrote $unit"
else
  echo "install: $unit is up to date"
fi
rm -f "$tmp"

# systemctl only works when systemd is PID 1 (not in most containers).
if [[ "$(cat /proc/1/comm 2>/dev/null)" != systemd ]]; then
  echo "install: systemd is not running here (PID 1 is $(cat /proc/1/comm)); the unit is written but not enabled"
  exit 0
fi
systemctl daemon-reload
systemctl enable berthd.service
if $start; then systemctl restart berthd.service; fi
echo "install: berthd.service enabled$($start && echo ' and started')"
