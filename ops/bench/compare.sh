#!/usr/bin/env bash
# Berth vs containerd 1.6 (Debian package containerd, client ctr), side by side in one run, on the
# same busybox image (build/images/busybox-docker.tar, see ops/images/make-busybox-image.sh).
#
#   ops/bench/compare.sh [--runs N] [--detached N] [--only berth|containerd]
#
#   --runs N       `run --rm IMG true` repetitions per system (default 30; p50/p95)
#   --detached N   `run -d IMG sleep 600` repetitions (default 20, at most --runs); these
#                  containers stay up for the memory measurements
#   --paced N      also N `run -d IMG sleep 600`, one every second (default 10; 0 skips): a
#                  single start on an otherwise idle machine, where the back-to-back loop above
#                  measures starts that overlap the previous start's aftermath (for Berth: the
#                  next spare shim's JVM start competes for the 2 cores with the next client)
#   --only X       measure only one system (the ratio column is then empty)
#   --mem N        memory per running container at N running (`run -d IMG sleep 600`, 0 skips; the
#                  issue's figure is at 50), counted the same way for both systems:
#                  Berth: (Σ PSS of every shim JVM of this berthd, spare included, + the keeper's
#                  PSS + berthd's RSS growth) / N; containerd: (Σ PSS of its shims + containerd's
#                  RSS growth) / N. Also the back-to-back `run -d` p50 of those N starts.
#   --group-sweep LIST  Berth only, after the other phases: for each shim group size in LIST
#                  (e.g. 1,4,8,16,32) berthd is restarted with --shim-group-size S and the --mem
#                  phase (N from --mem, default 50 here) runs again; one row per size
#   --berthd-arg A add A to berthd's command line (repeatable), e.g. --berthd-arg --shim-group-size=1
#   --restart N    also measure restart-to-reconciled: N `sleep 600` containers, kill -9 the
#                  daemon, start it again; time until the API answers and until all N are
#                  reported running again with unchanged pids (3 rounds; median, min-max)
#   --pull N       cold pulls from a local docker-registry (127.0.0.1, plain HTTP), N rounds per
#                  system and image (default 5; 0 skips): the busybox test image (~1 MB) and
#                  busybox + a 64 MiB random layer (ops/bench/make-pull-image.sh); `berth pull`
#                  vs `ctr image pull --plain-http`, both unpacking; the image and its content
#                  are removed between rounds (berth rmi + image prune -a; ctr image rm --sync)
#
# Both daemons are private instances in a fresh /tmp/bb-XXXXXX directory (own root, state and
# socket; containerd with the CRI plugin disabled). Everything is removed at the end, also on
# failure or Ctrl-C. Needs root.
#
# Memory: PSS of a shim is Pss from /proc/PID/smaps_rollup (shared pages split among sharers);
# daemon RSS is VmRSS. "idle" is measured with no container, after the run --rm phase;
# "growth" is RSS with the detached containers running minus idle.
set -euo pipefail

BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
cd "$BERTH_HOME"

runs=30
detached=20
only=""
restart=0
pull=5
paced=10
mem=0
sweep=""
berthd_args=()
while (( $# )); do
  case "$1" in
    --runs) runs="$2"; shift 2 ;;
    --runs=*) runs="${1#*=}"; shift ;;
    --detached) detached="$2"; shift 2 ;;
    --detached=*) detached="${1#*=}"; shift ;;
    --only) only="$2"; shift 2 ;;
    --only=*) only="${1#*=}"; shift ;;
    --restart) restart="$2"; shift 2 ;;
    --restart=*) restart="${1#*=}"; shift ;;
    --pull) pull="$2"; shift 2 ;;
    --paced) paced="$2"; shift 2 ;;
    --paced=*) paced="${1#*=}"; shift ;;
    --pull=*) pull="${1#*=}"; shift ;;
    --mem) mem="$2"; shift 2 ;;
    --mem=*) mem="${1#*=}"; shift ;;
    --group-sweep) sweep="$2"; shift 2 ;;
    --group-sweep=*) sweep="${1#*=}"; shift ;;
    --berthd-arg) berthd_args+=("$2"); shift 2 ;;
    --berthd-arg=*) berthd_args+=("${1#*=}"); shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "compare: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ && "$detached" =~ ^[1-9][0-9]*$ ]] || { echo "compare: counts must be positive" >&2; exit 2; }
[[ "$restart" =~ ^[0-9]+$ ]] || { echo "compare: --restart needs a count" >&2; exit 2; }
[[ "$pull" =~ ^[0-9]+$ ]] || { echo "compare: --pull needs a count" >&2; exit 2; }
[[ "$paced" =~ ^[0-9]+$ ]] || { echo "compare: --paced needs a count" >&2; exit 2; }
[[ "$mem" =~ ^[0-9]+$ ]] || { echo "compare: --mem needs a count" >&2; exit 2; }
[[ -z "$sweep" || "$sweep" =~ ^[1-9][0-9]*(,[1-9][0-9]*)*$ ]] || { echo "compare: --group-sweep needs sizes like 1,4,8" >&2; exit 2; }
[[ -n "$sweep" && "$mem" -eq 0 ]] && mem=50
(( detached > runs )) && detached=$runs
case "$only" in ''|berth|containerd) ;; *) echo "compare: --only berth|containerd" >&2; exit 2 ;; esac
do_berth=1; do_ctrd=1
[[ "$only" == containerd ]] && do_berth=0
[[ "$only" == berth ]] && do_ctrd=0

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "run as root"

archive="$BERTH_HOME/build/images/busybox-docker.tar"
# Always: setup also refreshes the shim and CLI CDS archives, which any `mvn package` makes stale
# (a stale archive is silently ignored and every JVM start gets ~2x slower).
"$BERTH_HOME/ops/setup.sh" >&2
[[ -f "$archive" ]] || die "$archive missing (needs skopeo; see ops/setup.sh)"
if (( do_ctrd )); then
  command -v containerd >/dev/null && command -v ctr >/dev/null || die "containerd/ctr not installed"
  command -v containerd-shim-runc-v2 >/dev/null || die "containerd-shim-runc-v2 not installed"
fi
command -v jq >/dev/null || die "jq is required"

T="$(mktemp -d /tmp/bb-XXXXXX)"
BROOT="$T/broot"; BSTATE="$T/bs"; BSOCK="$T/bs/berth.sock"
CROOT="$T/croot"; CSTATE="$T/cs"; CSOCK="$T/c.sock"
berthd_pid=""; containerd_pid=""; registry_pid=""; REG=""
berth() { "$BERTH_HOME/bin/berth" --socket "$BSOCK" "$@"; }
ctrc() { ctr -a "$CSOCK" "$@"; }

# ------------------------------------------------------------------ cleanup (always)
berth_shim_pids() { # the shims serving containers (one per container, or one per group)
  local spares p; spares=" $(berth_spare_pids | tr '\n' ' ') "
  for p in $(berth_all_shim_pids); do [[ "$spares" == *" $p "* ]] || echo "$p"; done
}
berth_spare_pids() {
  local f
  # shim.pid has no trailing newline
  for f in "$BSTATE"/shims/.spare-*/shim.pid "$BSTATE"/groups/.spare-*/shim.pid; do
    [[ -f "$f" ]] && echo "$(<"$f")"
  done 2>/dev/null || true
}
# every shim JVM of our berthd, group shims and spares included: their command line names our state
berth_all_shim_pids() {
  local p
  for p in $(pgrep -f dev.berth.shim.ShimMain || true); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$BSTATE/" && echo "$p"
  done
  return 0
}
berth_keeper_pid() { [[ -f "$BSTATE/keeper/keeper.pid" ]] && tr -dc '0-9' <"$BSTATE/keeper/keeper.pid" || true; }
ctrd_shim_pids() {
  # containerd-shim-runc-v2 processes started by our containerd (their -address is our socket)
  local p
  for p in $(pgrep -f containerd-shim-runc-v2 || true); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-address $CSOCK" && echo "$p"
  done
  return 0
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  say "cleaning up $T"
  if [[ -n "$berthd_pid" ]] && kill -0 "$berthd_pid" 2>/dev/null; then
    local ids c
    ids="$(berth ps -a --format json 2>/dev/null | jq -r '.id' 2>/dev/null | sort -u)"
    for c in $ids; do timeout 60 "$BERTH_HOME/bin/berth" --socket "$BSOCK" rm -f "$c" >/dev/null 2>&1; done
    kill -TERM "$berthd_pid" 2>/dev/null
    timeout 20 tail --pid="$berthd_pid" -f /dev/null
    kill -KILL "$berthd_pid" 2>/dev/null
  fi
  if [[ -n "$containerd_pid" ]] && kill -0 "$containerd_pid" 2>/dev/null; then
    local c
    for c in $(ctrc tasks ls -q 2>/dev/null); do ctrc tasks kill -s SIGKILL "$c" >/dev/null 2>&1; done
    sleep 0.5
    for c in $(ctrc containers ls -q 2>/dev/null); do
      ctrc tasks rm -f "$c" >/dev/null 2>&1; ctrc containers rm "$c" >/dev/null 2>&1
    done
    kill -TERM "$containerd_pid" 2>/dev/null
    timeout 20 tail --pid="$containerd_pid" -f /dev/null
    kill -KILL "$containerd_pid" 2>/dev/null
  fi
  [[ -n "$registry_pid" ]] && kill -TERM "$registry_pid" 2>/dev/null
  local p
  for p in $(berth_all_shim_pids) $(berth_keeper_pid) $(ctrd_shim_pids); do kill -KILL "$p" 2>/dev/null; done
  # runc containers left behind by killed shims
  for root in "$BSTATE/runc" "$CSTATE/runc/default" /run/containerd/runc/default; do
    [[ -d "$root" ]] || continue
    for c in $(runc --root "$root" list -q 2>/dev/null); do
      [[ "$root" == /run/containerd/* ]] && continue
      runc --root "$root" kill "$c" KILL >/dev/null 2>&1; sleep 0.2
      runc --root "$root" delete -f "$c" >/dev/null 2>&1
    done
  done
  # mounts under our directory, deepest first
  awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
  # empty leftovers of ctr's "default" namespace (cgroup parents, /run/containerd), unless
  # another containerd is running on this machine
  if ! pgrep -x containerd >/dev/null; then
    for d in /sys/fs/cgroup/*/default/bench-* /sys/fs/cgroup/*/default; do
      [[ -d "$d" ]] && rmdir "$d" 2>/dev/null
    done
    for d in /run/containerd/fifo /run/containerd/runc/default /run/containerd/runc /run/containerd/s /run/containerd; do
      [[ -d "$d" ]] && rmdir "$d" 2>/dev/null
    done
  fi
  rm -rf -- "$T"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ------------------------------------------------------------------ helpers
now_ns() { date +%s%N; }
# percentile P FILE (nearest rank) of numbers one per line
percentile() {
  sort -n "$2" | awk -v p="$1" '{ v[NR] = $1 } END { if (NR == 0) { print "nan"; exit } r = int((p / 100) * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR; printf "%.1f", v[r] }'
}
pss_kib() { awk '/^Pss:/ { print $2; exit }' "/proc/$1/smaps_rollup" 2>/dev/null || echo 0; }
rss_kib() { awk '/^VmRSS:/ { print $2; exit }' "/proc/$1/status" 2>/dev/null || echo 0; }
mean() { awk '{ s += $1; n++ } END { if (n) printf "%.1f", s / n; else print "nan" }'; }
sum() { awk '{ s += $1 } END { printf "%d", s }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# timed FILE CMD... : runs CMD (output discarded), appends its wall time in ms to FILE
timed() {
  local file="$1"; shift
  local t0 t1
  t0=$(now_ns)
  if ! "$@" </dev/null >/dev/null 2>"$T/last.err"; then
    die "command failed: $*: $(tail -3 "$T/last.err" | tr '\n' ' ')"
  fi
  t1=$(now_ns)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$file"
}

declare -A R   # results: R[system.metric]

# ------------------------------------------------------------------ registry (pull benchmark)
# docker-registry on a free loopback port with bench/busybox:1 and bench/big:1 pushed by skopeo
start_registry() {
  command -v docker-registry >/dev/null && command -v skopeo >/dev/null || die "--pull needs docker-registry and skopeo (ops/setup.sh)"
  local port
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  REG="127.0.0.1:$port"
  mkdir -p "$T/registry"
  printf 'version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\nhttp:\n  addr: %s\n' \
    "$T/registry/data" "$REG" >"$T/registry/config.yml"
  docker-registry serve "$T/registry/config.yml" >"$T/registry/log" 2>&1 &
  registry_pid=$!
  local deadline=$((SECONDS + 30))
  until curl -fs "http://$REG/v2/" >/dev/null 2>&1; do
    (( SECONDS < deadline )) || die "docker-registry does not answer on $REG"
    sleep 0.1
  done
  "$BERTH_HOME/ops/bench/make-pull-image.sh" "$T/big-image" 64 >&2
  skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$BERTH_HOME/build/images/busybox:latest" "docker://$REG/bench/busybox:1"
  skopeo --insecure-policy copy --quiet --dest-tls-verify=false "oci:$T/big-image:latest" "docker://$REG/bench/big:1"
  say "registry: $REG with bench/busybox:1 and bench/big:1"
}

# pull_rounds SYSTEM KEY REF PULL-CMD... : $pull cold pulls, cleaning between rounds
pull_rounds() {
  local sys="$1" key="$2" ref="$3" i; shift 3
  : >"$T/$sys.$key"
  for ((i = 1; i <= pull; i++)); do
    timed "$T/$sys.$key" "$@" "$ref"
    if [[ "$sys" == berth ]]; then
      berth rmi "$ref" >/dev/null; berth image prune -a -f >/dev/null
    else
      ctrc image rm --sync "$ref" >/dev/null; ctrc content prune references >/dev/null 2>&1 || true
    fi
  done
  R[$sys.$key]=$(percentile 50 "$T/$sys.$key")
  R[$sys.${key}_range]=$(sort -n "$T/$sys.$key" | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.0f-%.0f", a, b }')
  say "$sys: pull $ref p50 ${R[$sys.$key]} ms (${R[$sys.${key}_range]})"
}

# ------------------------------------------------------------------ Berth
bench_berth() {
  mkdir -p "$BROOT" "$BSTATE"
  say "berth: starting berthd (root $BROOT, state $BSTATE)"
  "$BERTH_HOME/bin/berthd" --root "$BROOT" --state "$BSTATE" --socket "$BSOCK" "${berthd_args[@]}" 2>"$T/berthd.log" &
  berthd_pid=$!
  local deadline=$((SECONDS + 120))
  until [[ -S "$BSOCK" ]] && berth version >/dev/null 2>&1; do
    kill -0 "$berthd_pid" 2>/dev/null || { tail -20 "$T/berthd.log" >&2; die "berthd exited"; }
    (( SECONDS < deadline )) || die "berthd does not answer on $BSOCK"
    sleep 0.1
  done
  if (( pull > 0 )); then # before the import: nothing of the image may be in the store yet
    say "berth: $pull cold pulls of each image from $REG"
    pull_rounds berth pull_small "$REG/bench/busybox:1" berth pull -q
    pull_rounds berth pull_big "$REG/bench/big:1" berth pull -q
  fi
  berth image import "$archive" --name busybox:latest >/dev/null
  sleep 2
  R[berth.rss_fresh]=$(rss_kib "$berthd_pid")

  : >"$T/berth.v"
  for ((i = 1; i <= 10; i++)); do timed "$T/berth.v" berth version; done
  R[berth.v_p50]=$(percentile 50 "$T/berth.v")
  say "berth: warm-up + $runs x run --rm busybox true"
  berth run --rm busybox true >/dev/null
  local i
  : >"$T/berth.rm"
  for ((i = 1; i <= runs; i++)); do timed "$T/berth.rm" berth run --rm busybox true; done
  R[berth.rm_p50]=$(percentile 50 "$T/berth.rm"); R[berth.rm_p95]=$(percentile 95 "$T/berth.rm")

  sleep 2
  R[berth.rss_idle]=$(rss_kib "$berthd_pid")
  say "berth: $detached x run -d busybox sleep 600"
  : >"$T/berth.d"
  for ((i = 1; i <= detached; i++)); do timed "$T/berth.d" berth run -d --name "bench-$i" busybox sleep 600; done
  R[berth.d_p50]=$(percentile 50 "$T/berth.d")
  sleep 3
  local running
  local names=(); for ((i = 1; i <= detached; i++)); do names+=("bench-$i"); done
  running=$(berth inspect "${names[@]}" | jq '[.[] | select(.state == "running")] | length')
  [[ "$running" -eq "$detached" ]] || say "berth: warning: $running of $detached containers running"
  local pids; pids=$(berth_shim_pids)
  R[berth.nshims]=$(wc -w <<<"$pids")
  R[berth.pss]=$(for p in $pids; do pss_kib "$p"; done | mean)
  R[berth.rss_busy]=$(rss_kib "$berthd_pid")
  local spare; spare=$(berth_spare_pids)
  [[ -z "$spare" ]] || R[berth.spare]=$(for p in $spare; do pss_kib "$p"; done | mean)
  R[berth.growth]=$(( R[berth.rss_busy] - R[berth.rss_idle] ))

  if (( paced > 0 )); then
    say "berth: $paced x run -d busybox sleep 600, one per second"
    : >"$T/berth.p"
    for ((i = 1; i <= paced; i++)); do
      sleep 1; timed "$T/berth.p" berth run -d --name "paced-$i" busybox sleep 600; names+=("paced-$i")
    done
    R[berth.p_p50]=$(percentile 50 "$T/berth.p")
  fi

  say "berth: removing containers"
  berth rm -f "${names[@]}" >/dev/null || say "berth: warning: rm -f of the detached containers failed"
  (( restart > 0 )) && restart_berth
  (( mem > 0 )) && mem_berth mem
  [[ -n "$sweep" ]] && sweep_berth
  return 0
}

# berthd in the background on the bench dirs; returns once it answers `version`
start_berthd() {
  "$BERTH_HOME/bin/berthd" --root "$BROOT" --state "$BSTATE" --socket "$BSOCK" "${berthd_args[@]}" "$@" 2>>"$T/berthd.log" &
  berthd_pid=$!
}

# kill -9 berthd with $restart containers running; time to API and to all reconciled (same pids)
restart_berth() {
  local i round names=() before after t0 t_api t_rec
  say "berth: restart-to-reconciled with $restart running, 3 rounds"
  for ((i = 1; i <= restart; i++)); do names+=("restart-$i"); berth run -d --name "restart-$i" busybox sleep 600 >/dev/null; done
  before=$(berth ps --format json | jq -r 'select(.name | startswith("restart-")) | "\(.name) \(.pid)"' | sort)
  [[ $(wc -l <<<"$before") -eq $restart ]] || say "berth: warning: not all $restart containers running"
  : >"$T/berth.api"; : >"$T/berth.rec"
  for round in 1 2 3; do
    kill -KILL "$berthd_pid"; wait "$berthd_pid" 2>/dev/null || true
    t0=$(now_ns)
    start_berthd
    until berth version >/dev/null 2>&1; do sleep 0.02; done
    t_api=$(now_ns)
    until [[ $(berth ps --format json 2>/dev/null | jq -r 'select(.state == "running") | .name' | grep -c '^restart-') -eq $restart ]]; do sleep 0.02; done
    t_rec=$(now_ns)
    awk -v a="$t0" -v b="$t_api" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$T/berth.api"
    awk -v a="$t0" -v b="$t_rec" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$T/berth.rec"
    after=$(berth ps --format json | jq -r 'select(.name | startswith("restart-")) | "\(.name) \(.pid)"' | sort)
    [[ "$after" == "$before" ]] && R[berth.same_pids]=yes || R[berth.same_pids]=NO
    say "berth: round $round: api $(tail -1 "$T/berth.api") ms, reconciled $(tail -1 "$T/berth.rec") ms"
  done
  R[berth.r_api]=$(percentile 50 "$T/berth.api"); R[berth.r_rec]=$(percentile 50 "$T/berth.rec")
  R[berth.r_api_range]=$(sort -n "$T/berth.api" | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.0f-%.0f", a, b }')
  R[berth.r_rec_range]=$(sort -n "$T/berth.rec" | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.0f-%.0f", a, b }')
  berth rm -f "${names[@]}" >/dev/null || say "berth: warning: rm -f of the restart containers failed"
}

# mem_berth TAG: $mem running containers; per-container memory as documented at --mem
mem_berth() {
  local tag="$1" i names=() idle busy shims shim_pss keeper_pss=0 k running
  sleep 3
  idle=$(rss_kib "$berthd_pid")
  say "berth[$tag]: $mem x run -d busybox sleep 600 (memory per container)"
  : >"$T/berth.$tag.d"
  for ((i = 1; i <= mem; i++)); do
    names+=("mem-$i"); timed "$T/berth.$tag.d" berth run -d --name "mem-$i" busybox sleep 600
  done
  sleep 5
  running=$(berth inspect "${names[@]}" | jq '[.[] | select(.state == "running")] | length')
  [[ "$running" -eq "$mem" ]] || say "berth[$tag]: warning: $running of $mem containers running"
  shims=$(berth_all_shim_pids)
  shim_pss=$(for p in $shims; do pss_kib "$p"; done | sum)
  k=$(berth_keeper_pid); [[ -n "$k" ]] && keeper_pss=$(pss_kib "$k")
  busy=$(rss_kib "$berthd_pid")
  R[berth.$tag.per]=$(( (shim_pss + keeper_pss + busy - idle) / mem ))
  R[berth.$tag.shims]=$(wc -w <<<"$shims")
  R[berth.$tag.shim_pss]=$shim_pss; R[berth.$tag.keeper]=$keeper_pss; R[berth.$tag.growth]=$(( busy - idle ))
  R[berth.$tag.d_p50]=$(percentile 50 "$T/berth.$tag.d")
  say "berth[$tag]: $(wc -w <<<"$shims") shim JVMs, shims $(mib "$shim_pss") MiB, keeper $(mib "$keeper_pss") MiB, berthd growth $(mib $(( busy - idle ))) MiB"
  berth rm -f "${names[@]}" >/dev/null || say "berth[$tag]: warning: rm -f failed"
}

# restart berthd with --shim-group-size S for each size of --group-sweep and measure again
sweep_berth() {
  local s
  for s in ${sweep//,/ }; do
    kill -TERM "$berthd_pid" 2>/dev/null; timeout 30 tail --pid="$berthd_pid" -f /dev/null || kill -KILL "$berthd_pid"
    wait "$berthd_pid" 2>/dev/null || true
    start_berthd --shim-group-size "$s"
    local deadline=$((SECONDS + 120))
    until berth version >/dev/null 2>&1; do
      kill -0 "$berthd_pid" 2>/dev/null || { tail -5 "$T/berthd.log" >&2; die "berthd --shim-group-size $s exited"; }
      (( SECONDS < deadline )) || die "berthd does not answer"
      sleep 0.1
    done
    berth run --rm busybox true >/dev/null
    mem_berth "g$s"
  done
}

mem_containerd() {
  local img="$1" i idle busy shims shim_pss
  sleep 3
  idle=$(rss_kib "$containerd_pid")
  say "containerd: $mem x ctr run -d $img sleep 600 (memory per container)"
  : >"$T/ctrd.mem.d"
  for ((i = 1; i <= mem; i++)); do timed "$T/ctrd.mem.d" ctrc run -d "$img" "mem-$i" sleep 600; done
  sleep 5
  shims=$(ctrd_shim_pids)
  shim_pss=$(for p in $shims; do pss_kib "$p"; done | sum)
  busy=$(rss_kib "$containerd_pid")
  R[ctrd.mem.per]=$(( (shim_pss + busy - idle) / mem ))
  R[ctrd.mem.shims]=$(wc -w <<<"$shims")
  R[ctrd.mem.d_p50]=$(percentile 50 "$T/ctrd.mem.d")
  local c
  for c in $(ctrc tasks ls -q); do ctrc tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true; done
  for c in $(ctrc containers ls -q); do
    for _ in 1 2 3 4 5 6 7 8 9 10; do ctrc tasks rm -f "$c" >/dev/null 2>&1 && break; sleep 0.2; done
    ctrc containers rm "$c" >/dev/null 2>&1 || true
  done
}

# ------------------------------------------------------------------ containerd
bench_containerd() {
  mkdir -p "$CROOT" "$CSTATE"
  cat >"$T/containerd.toml" <<EOF
version = 2
root = "$CROOT"
state = "$CSTATE"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$CSOCK"
[ttrpc]
  address = "$CSOCK.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
  say "containerd: starting $(containerd --version | awk '{print $3}') (root $CROOT, state $CSTATE)"
  containerd --config "$T/containerd.toml" --root "$CROOT" --state "$CSTATE" --address "$CSOCK" \
    >"$T/containerd.log" 2>&1 &
  containerd_pid=$!
  local deadline=$((SECONDS + 60))
  until [[ -S "$CSOCK" ]] && ctrc version >/dev/null 2>&1; do
    kill -0 "$containerd_pid" 2>/dev/null || { tail -20 "$T/containerd.log" >&2; die "containerd exited"; }
    (( SECONDS < deadline )) || die "containerd does not answer on $CSOCK"
    sleep 0.1
  done
  if (( pull > 0 )); then
    say "containerd: $pull cold pulls of each image from $REG"
    pull_rounds ctrd pull_small "$REG/bench/busybox:1" ctrc image pull --plain-http
    pull_rounds ctrd pull_big "$REG/bench/big:1" ctrc image pull --plain-http
  fi
  ctrc images import "$archive" >/dev/null
  local img; img=$(ctrc images ls -q | grep 'busybox' | head -1)
  [[ -n "$img" ]] || die "containerd: image import gave no busybox image"
  say "containerd: image $img"
  sleep 2
  R[ctrd.rss_fresh]=$(rss_kib "$containerd_pid")

  : >"$T/ctrd.v"
  for ((i = 1; i <= 10; i++)); do timed "$T/ctrd.v" ctrc version; done
  R[ctrd.v_p50]=$(percentile 50 "$T/ctrd.v")
  say "containerd: warm-up + $runs x ctr run --rm $img true"
  ctrc run --rm "$img" bench-warmup true >/dev/null
  local i
  : >"$T/ctrd.rm"
  for ((i = 1; i <= runs; i++)); do timed "$T/ctrd.rm" ctrc run --rm "$img" "bench-rm-$i" true; done
  R[ctrd.rm_p50]=$(percentile 50 "$T/ctrd.rm"); R[ctrd.rm_p95]=$(percentile 95 "$T/ctrd.rm")

  sleep 2
  R[ctrd.rss_idle]=$(rss_kib "$containerd_pid")
  say "containerd: $detached x ctr run -d $img sleep 600"
  : >"$T/ctrd.d"
  for ((i = 1; i <= detached; i++)); do timed "$T/ctrd.d" ctrc run -d "$img" "bench-$i" sleep 600; done
  R[ctrd.d_p50]=$(percentile 50 "$T/ctrd.d")
  sleep 3
  local running
  running=$(ctrc tasks ls | awk 'NR > 1 && $3 == "RUNNING"' | wc -l)
  [[ "$running" -eq "$detached" ]] || say "containerd: warning: $running of $detached tasks running"
  local pids; pids=$(ctrd_shim_pids)
  R[ctrd.nshims]=$(wc -w <<<"$pids")
  R[ctrd.pss]=$(for p in $pids; do pss_kib "$p"; done | mean)
  R[ctrd.rss_busy]=$(rss_kib "$containerd_pid")
  R[ctrd.growth]=$(( R[ctrd.rss_busy] - R[ctrd.rss_idle] ))

  if (( paced > 0 )); then
    say "containerd: $paced x ctr run -d $img sleep 600, one per second"
    : >"$T/ctrd.p"
    for ((i = 1; i <= paced; i++)); do sleep 1; timed "$T/ctrd.p" ctrc run -d "$img" "paced-$i" sleep 600; done
    R[ctrd.p_p50]=$(percentile 50 "$T/ctrd.p")
  fi

  say "containerd: removing containers"
  local c
  for c in $(ctrc tasks ls -q); do ctrc tasks kill -s SIGKILL "$c" >/dev/null 2>&1 || true; done
  for c in $(ctrc containers ls -q); do
    for _ in 1 2 3 4 5 6 7 8 9 10; do ctrc tasks rm -f "$c" >/dev/null 2>&1 && break; sleep 0.2; done
    ctrc containers rm "$c" >/dev/null 2>&1 || true
  done
  (( restart > 0 )) && restart_containerd "$img"
  (( mem > 0 )) && mem_containerd "$img"
  return 0
}

start_containerd() {
  containerd --config "$T/containerd.toml" --root "$CROOT" --state "$CSTATE" --address "$CSOCK" \
    >>"$T/containerd.log" 2>&1 &
  containerd_pid=$!
}

restart_containerd() {
  local img="$1" i round before after t0 t_api t_rec
  say "containerd: restart-to-reconciled with $restart running, 3 rounds"
  for ((i = 1; i <= restart; i++)); do ctrc run -d "$img" "restart-$i" sleep 600 >/dev/null; done
  before=$(ctrc tasks ls | awk 'NR > 1 && $1 ~ /^restart-/ { print $1, $2 }' | sort)
  [[ $(wc -l <<<"$before") -eq $restart ]] || say "containerd: warning: not all $restart tasks running"
  : >"$T/ctrd.api"; : >"$T/ctrd.rec"
  for round in 1 2 3; do
    kill -KILL "$containerd_pid"; wait "$containerd_pid" 2>/dev/null || true
    t0=$(now_ns)
    start_containerd
    until ctrc version >/dev/null 2>&1; do sleep 0.02; done
    t_api=$(now_ns)
    until [[ $(ctrc tasks ls 2>/dev/null | awk 'NR > 1 && $1 ~ /^restart-/ && $3 == "RUNNING"' | wc -l) -eq $restart ]]; do sleep 0.02; done
    t_rec=$(now_ns)
    awk -v a="$t0" -v b="$t_api" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$T/ctrd.api"
    awk -v a="$t0" -v b="$t_rec" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }' >>"$T/ctrd.rec"
    after=$(ctrc tasks ls | awk 'NR > 1 && $1 ~ /^restart-/ { print $1, $2 }' | sort)
    [[ "$after" == "$before" ]] && R[ctrd.same_pids]=yes || R[ctrd.same_pids]=NO
    say "containerd: round $round: api $(tail -1 "$T/ctrd.api") ms, reconciled $(tail -1 "$T/ctrd.rec") ms"
  done
  R[ctrd.r_api]=$(percentile 50 "$T/ctrd.api"); R[ctrd.r_rec]=$(percentile 50 "$T/ctrd.rec")
  R[ctrd.r_api_range]=$(sort -n "$T/ctrd.api" | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.0f-%.0f", a, b }')
  R[ctrd.r_rec_range]=$(sort -n "$T/ctrd.rec" | awk 'NR == 1 { a = $1 } { b = $1 } END { printf "%.0f-%.0f", a, b }')
  for i in $(ctrc tasks ls -q); do ctrc tasks kill -s SIGKILL "$i" >/dev/null 2>&1 || true; done
  for i in $(ctrc containers ls -q); do
    for _ in 1 2 3 4 5 6 7 8 9 10; do ctrc tasks rm -f "$i" >/dev/null 2>&1 && break; sleep 0.2; done
    ctrc containers rm "$i" >/dev/null 2>&1 || true
  done
}

(( pull > 0 )) && start_registry
(( do_berth )) && bench_berth
(( do_ctrd )) && bench_containerd

# ------------------------------------------------------------------ report
val() { local v="${R[$1]:-}"; echo "${v:-n/a}"; }
row() { # row LABEL KEY UNIT(ms|kib)
  local label="$1" key="$2" unit="$3" b c ratio
  b="$(val "berth.$key")"; c="$(val "ctrd.$key")"
  if [[ "$unit" == kib ]]; then
    [[ "$b" == n/a ]] || b="$(mib "$b")"
    [[ "$c" == n/a ]] || c="$(mib "$c")"
  fi
  if [[ "$b" != n/a && "$c" != n/a ]]; then
    ratio="$(awk -v b="$b" -v c="$c" 'BEGIN { if (c + 0 == 0) print "n/a"; else printf "%.2f", b / c }')"
  else
    ratio="n/a"
  fi
  printf '%-44s %12s %12s %10s\n' "$label" "$b" "$c" "$ratio"
}
echo
printf 'Berth vs containerd %s — %s runs of run --rm, %s detached, %s cores, %s\n' \
  "$(containerd --version 2>/dev/null | awk '{print $3}')" "$runs" "$detached" "$(nproc)" "$(uname -r)"
printf '%-44s %12s %12s %10s\n' "metric" "Berth" "containerd" "Berth/ctrd"
row "client round trip: version p50 (ms)" v_p50 ms
row "run --rm IMG true p50 (ms)" rm_p50 ms
row "run --rm IMG true p95 (ms)" rm_p95 ms
row "run -d IMG sleep 600 p50, back to back (ms)" d_p50 ms
(( paced > 0 )) && row "run -d IMG sleep 600 p50, one per second (ms)" p_p50 ms
row "shim PSS, mean per shim with $detached running (MiB)" pss kib
row "daemon RSS fresh after import (MiB)" rss_fresh kib
row "daemon RSS idle, no containers (MiB)" rss_idle kib
row "daemon RSS with $detached running (MiB)" rss_busy kib
row "daemon RSS growth idle -> $detached running (MiB)" growth kib
row "pre-started spare shim PSS (MiB)" spare kib
printf '%-44s %12s %12s\n' "shim processes counted" "$(val berth.nshims)" "$(val ctrd.nshims)"
if (( pull > 0 )); then
  row "cold pull busybox (~1 MB) p50 (ms)" pull_small ms
  printf '%-44s %12s %12s\n' "  min-max over $pull rounds (ms)" "$(val berth.pull_small_range)" "$(val ctrd.pull_small_range)"
  row "cold pull busybox + 64 MiB layer p50 (ms)" pull_big ms
  printf '%-44s %12s %12s\n' "  min-max over $pull rounds (ms)" "$(val berth.pull_big_range)" "$(val ctrd.pull_big_range)"
fi
if (( restart > 0 )); then
  row "restart, $restart running: API answers p50 (ms)" r_api ms
  printf '%-44s %12s %12s\n' "  min-max over 3 rounds (ms)" "$(val berth.r_api_range)" "$(val ctrd.r_api_range)"
  row "restart, $restart running: all reconciled p50 (ms)" r_rec ms
  printf '%-44s %12s %12s\n' "  min-max over 3 rounds (ms)" "$(val berth.r_rec_range)" "$(val ctrd.r_rec_range)"
  printf '%-44s %12s %12s\n' "  same pids after every restart" "$(val berth.same_pids)" "$(val ctrd.same_pids)"
fi
if (( mem > 0 )); then
  row "memory per container at $mem running (MiB)" mem.per kib
  row "  run -d p50 of those $mem, back to back (ms)" mem.d_p50 ms
  printf '%-44s %12s %12s\n' "  shim processes" "$(val berth.mem.shims)" "$(val ctrd.mem.shims)"
  if [[ -n "$sweep" ]]; then
    for s in ${sweep//,/ }; do
      b="$(val "berth.g$s.per")"; [[ "$b" == n/a ]] || b="$(mib "$b")"
      c="$(val ctrd.mem.per)"; [[ "$c" == n/a ]] || c="$(mib "$c")"
      ratio=n/a; [[ "$b" != n/a && "$c" != n/a ]] && ratio="$(awk -v b="$b" -v c="$c" 'BEGIN { printf "%.2f", b / c }')"
      printf '%-44s %12s %12s %10s\n' "  --shim-group-size $s: per container (MiB)" "$b" "$c" "$ratio"
      b="$(val "berth.g$s.d_p50")"; c="$(val ctrd.mem.d_p50)"
      ratio=n/a; [[ "$b" != n/a && "$c" != n/a ]] && ratio="$(awk -v b="$b" -v c="$c" 'BEGIN { printf "%.2f", b / c }')"
      printf '%-44s %12s %12s %10s\n' "  --shim-group-size $s: run -d p50 (ms)" "$b" "$c" "$ratio"
      printf '%-44s %12s\n' "  --shim-group-size $s: shim JVMs" "$(val "berth.g$s.shims")"
    done
  fi
fi
