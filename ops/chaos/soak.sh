#!/usr/bin/env bash
# Chaos soak: a mixed container workload against a private berthd while faults are injected —
# kill -9 of berthd (idle and in the middle of an RPC), kill -9 of shims and of container
# processes, failpoints in shim RPCs — checking after every fault that every container is
# accounted for, every exit is recorded once with a plausible code, events are gap-free and in
# order, and no zombie, orphan shim, overlay mount, cgroup, socket or state dir leaks.
#
#   ops/chaos/soak.sh [--faults N] [--seed S]      (defaults: 100 faults, seed 20261124)
#
# Prints the report (faults by kind, violations by kind with details) and exits non-zero on any
# violation. The same seed gives the same sequence of actions and faults. Runs ops/setup.sh
# first; the driver is dev.berth.chaos.ChaosSoak (src/test), run through ChaosSoakIT. Needs root.
set -euo pipefail

BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
cd "$BERTH_HOME"

faults=100
seed=20261124
while (( $# )); do
  case "$1" in
    --faults) faults="$2"; shift 2 ;;
    --faults=*) faults="${1#*=}"; shift ;;
    --seed) seed="$2"; shift 2 ;;
    --seed=*) seed="${1#*=}"; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "soak: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$faults" =~ ^[1-9][0-9]*$ ]] || { echo "soak: --faults must be a positive number" >&2; exit 2; }
[[ "$seed" =~ ^-?[0-9]+$ ]] || { echo "soak: --seed must be a number" >&2; exit 2; }

ops/setup.sh
mkdir -p "$BERTH_HOME/build/soak"
report="$BERTH_HOME/build/soak/report-$seed.txt"
rm -f "$report"
rc=0
mvn -B -q verify -pl src/test -Dit.test=ChaosSoakIT -Dfailsafe.failIfNoSpecifiedTests=false \
  -Dsoak.faults="$faults" -Dsoak.seed="$seed" -Dsoak.report="$report" > "$BERTH_HOME/build/soak/mvn-$seed.log" 2>&1 || rc=$?
if [[ -f "$report" ]]; then
  cat "$report"
else
  echo "soak: no report was written; the run failed early:" >&2
  tail -40 "$BERTH_HOME/build/soak/mvn-$seed.log" >&2
fi
exit "$rc"
