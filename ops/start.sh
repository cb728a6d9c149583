#!/usr/bin/env bash
# Sets up (ops/setup.sh), starts berthd, makes sure busybox:latest is imported, then stays in the
# foreground until berthd exits. SIGINT/SIGTERM are forwarded to berthd (as SIGTERM: berthd exits
# cleanly and leaves containers running). Exits with berthd's status.
#
#   ops/start.sh [berthd flags: --root DIR --state DIR --socket PATH --runtime runc|crun]
set -euo pipefail

BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd -P)"
cd "$BERTH_HOME"

say() { printf 'start: %s\n' "$*"; }

"$BERTH_HOME/ops/setup.sh"

# The API socket berthd will serve: --socket, else STATE/berth.sock, else the default.
state=/run/berth
socket=""
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do
  case "${args[i]}" in
    --socket) socket="${args[i+1]:-}" ;;
    --socket=*) socket="${args[i]#--socket=}" ;;
    --state) state="${args[i+1]:-}" ;;
    --state=*) state="${args[i]#--state=}" ;;
  esac
done
socket="${socket:-$state/berth.sock}"
berth=("$BERTH_HOME/bin/berth" --socket "$socket")

say "bin/berthd $*"
"$BERTH_HOME/bin/berthd" "$@" &
pid=$!

forward() { kill -TERM "$pid" 2>/dev/null || true; }
trap forward INT TERM

# Wait until berthd answers on its socket (a stale socket file alone does not count).
deadline=$((SECONDS + 120))
until [[ -S "$socket" ]] && "${berth[@]}" version >/dev/null 2>&1; do
  if ! kill -0 "$pid" 2>/dev/null; then
    wait "$pid" && status=0 || status=$?
    say "berthd exited with status $status before serving $socket"
    exit "$status"
  fi
  if (( SECONDS > deadline )); then
    say "berthd does not answer on $socket after 120s; stopping it"
    forward
    wait "$pid" || true
    exit 1
  fi
  sleep 0.2
done
say "berthd (pid $pid) serving $socket"

image="$BERTH_HOME/build/images/busybox"
if "${berth[@]}" images --format json | grep -q '"busybox:latest"'; then
  say "image busybox:latest present"
else
  say "importing $image as busybox:latest"
  "${berth[@]}" image import "$image" --name busybox:latest >/dev/null \
    || say "warning: importing $image failed"
fi
say "ready: ${berth[*]} run --rm busybox echo hello"

# Stay in the foreground; a trapped signal interrupts `wait`, so wait again until berthd is gone.
status=0
while :; do
  wait "$pid" && status=0 || status=$?
  kill -0 "$pid" 2>/dev/null || break
done
say "berthd exited with status $status"
exit "$status"
