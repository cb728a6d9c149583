#!/usr/bin/env bash
# Start latency of a container with networking: Berth vs podman 4.3 vs docker 20.10 (Debian's
# podman and docker.io, installed with apt-get when missing), side by side in one run, on the same
# busybox image (build/images/busybox-docker.tar, see ops/images/make-busybox-image.sh).
#
#   ops/bench/network.sh [--runs N] [--only berth,podman,docker]
#
#   --runs N   per system, N back-to-back pairs (default 20), interleaved so that both kinds see
#              the same warm-up and load:
#                run -d -p FREE_HOST_PORT:80 busybox httpd -f -p 80   (default bridge network,
#                                                                      one published port)
#                run -d --network none busybox httpd -f -p 80          (no network at all)
#              p50/p95 of each; "network cost" = p50 bridge+port - p50 none. Containers stay up
#              until the end of the system's phase, then are removed.
#   --only L   measure only these systems (comma-separated); ratios need Berth and the other one
#
# Before the timed runs, one warm-up pair per system; the warm-up's published port is checked
# once with curl (http://127.0.0.1:PORT/; busybox httpd answers 404 for the empty root, any HTTP
# status counts). The issue's target: Berth's network cost is no more than podman's.
#
# Every system runs privately in a fresh /tmp/bb-XXXXXX directory, one after the other (each is
# stopped before the next starts), each on its own bridge and /24 (free ones, chosen so that no
# host route overlaps; never berth0, docker0 or cni-podman0):
#   Berth:  bin/berthd --root/--state/--socket (as compare.sh), --bridge bbXXXXXXb --bridge-subnet
#   podman: --root/--runroot/--tmpdir, CONTAINERS_CONF and CONTAINERS_STORAGE_CONF of its own, CNI
#           network config in the directory (podman 4.3's default backend without netavark), the
#           default network made with `podman network create` (bridge renamed to bbXXXXXXp)
#   docker: dockerd --data-root/--exec-root/-H unix socket/--pidfile/--config-file, its own
#           containerd (CRI plugin disabled, as compare.sh starts it), --bridge bbXXXXXXd (made
#           here, with the /24's first address), client /usr/bin/docker (not a newer one in PATH)
# Everything is removed at the end, also on failure or Ctrl-C: containers, daemons and their
# shims/conmons, mounts, the bridges and veths, dockerd's iptables chains and rules (unless
# another dockerd runs), podman's IPAM leases, empty cgroups. Needs root.
set -euo pipefail

BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
cd "$BERTH_HOME"

runs=20
only="berth,podman,docker"
while (( $# )); do
  case "$1" in
    --runs) runs="${2:-}"; shift; shift || true ;;
    --runs=*) runs="${1#*=}"; shift ;;
    --only) only="${2:-}"; shift; shift || true ;;
    --only=*) only="${1#*=}"; shift ;;
    -h|--help) sed -n '2,/^set -e/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "network: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$runs" =~ ^[1-9][0-9]*$ ]] || { echo "network: --runs needs a positive count" >&2; exit 2; }
[[ "$only" =~ ^(berth|podman|docker)(,(berth|podman|docker))*$ ]] || { echo "network: --only takes berth,podman,docker" >&2; exit 2; }
want() { [[ ",$only," == *",$1,"* ]]; }

say() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: error: %s\n' "$*" >&2; exit 1; }
[[ $EUID -eq 0 ]] || die "run as root"

archive="$BERTH_HOME/build/images/busybox-docker.tar"
[[ -f "$archive" ]] || die "$archive missing (needs skopeo; see ops/setup.sh)"
for c in jq curl python3 iptables ip; do command -v "$c" >/dev/null || die "$c is required"; done
DOCKER_BIN=/usr/bin/docker # /usr/local/bin may hold another docker client first in PATH

# ------------------------------------------------------------------ Debian packages
missing=()
want podman && ! command -v podman >/dev/null && missing+=(podman)
want docker && { [[ -x /usr/sbin/dockerd && -x "$DOCKER_BIN" ]] || missing+=(docker.io); }
if (( ${#missing[@]} )); then
  say "installing ${missing[*]} (apt-get)"
  # No service may start (docker.io's postinst would start a system dockerd): policy-rc.d says no,
  # unless the machine already has one.
  policy_made=0
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod 0755 /usr/sbin/policy-rc.d; policy_made=1
  fi
  rc=0
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >/tmp/network-bench-apt.log 2>&1 || rc=$?
  (( policy_made )) && rm -f /usr/sbin/policy-rc.d
  (( rc == 0 )) || { tail -5 /tmp/network-bench-apt.log >&2; die "apt-get install ${missing[*]} failed (/tmp/network-bench-apt.log)"; }
fi
if want docker; then
  command -v containerd >/dev/null && command -v containerd-shim-runc-v2 >/dev/null || die "containerd not installed (a docker.io dependency)"
fi

# The shim, CLI and daemon class-data archives: any `mvn package` makes them stale (a stale
# archive is silently ignored and every JVM start gets ~2x slower). Not ops/setup.sh as compare.sh
# does: this must not trigger a `mvn install`.
if want berth; then
  [[ -f daemon/target/berth-daemon.jar ]] || die "Berth is not built (mvn -B -DskipTests package)"
  "$BERTH_HOME/ops/refresh-archives.sh" >&2
fi

T="$(mktemp -d /tmp/bb-XXXXXX)"
tag="${T##*-}"
BR_BERTH="bb${tag}b"; BR_DOCKER="bb${tag}d"; BR_PODMAN="bb${tag}p"
BROOT="$T/broot"; BSTATE="$T/bs"; BSOCK="$T/bs/berth.sock"
DSOCK="$T/d.sock"; CSOCK="$T/dc.sock"
PNET="bb${tag}"
berthd_pid=""; dockerd_pid=""; containerd_pid=""
# what podman may create outside our directory, to be removed only if it was not there before
netns_was_mount=0; mountpoint -q /run/netns 2>/dev/null && netns_was_mount=1
netns_existed=0; [[ -e /run/netns ]] && netns_existed=1
runc_root_existed=0; [[ -e /run/runc ]] && runc_root_existed=1
# and dockerd: its trust key (in /etc/docker whatever --config-file says), the plugin socket directory
docker_key_existed=0; [[ -e /etc/docker/key.json ]] && docker_key_existed=1
docker_run_existed=0; [[ -e /run/docker ]] && docker_run_existed=1
ctrd_run_existed=0; [[ -e /run/containerd ]] && ctrd_run_existed=1 # containerd's shim sockets: /run/containerd/s
podman_used=0; docker_bridge=""; docker_started=0
berth() { "$BERTH_HOME/bin/berth" --socket "$BSOCK" "$@"; }
dockerc() { DOCKER_CONFIG="$T/dcfg" "$DOCKER_BIN" -H "unix://$DSOCK" "$@"; }
# (runc's state too: podman would keep it in /run/runc)
PODMAN=(env CONTAINERS_CONF="$T/containers.conf" CONTAINERS_STORAGE_CONF="$T/storage.conf" TMPDIR="$T/ptmp"
  podman --root "$T/proot" --runroot "$T/prun" --tmpdir "$T/plib" --network-config-dir "$T/pcni"
  --cgroup-manager cgroupfs --events-backend file --runtime runc --runtime-flag "root=$T/prunc")
podmanc() { "${PODMAN[@]}" "$@"; }

# ------------------------------------------------------------------ cleanup (always)
# processes whose command line names our directory (shims, conmons, containerd, ...)
our_pids() {
  local p
  for p in $(pgrep -f -- "$T/" || true); do
    [[ "$p" == "$$" || "$p" == "$BASHPID" ]] && continue
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$T/" && echo "$p"
  done
  return 0
}
# docker-proxy processes of our dockerd (their command line does not name our directory)
docker_proxy_pids() {
  [[ -n "$dockerd_pid" ]] || return 0
  pgrep -P "$dockerd_pid" -x docker-proxy || true
}
live() { ps -C "$1" -o stat= 2>/dev/null | grep -qv '^Z'; } # a process of that name, not a zombie
stop_pid() { # stop_pid PID SECONDS
  [[ -n "$1" ]] && kill -0 "$1" 2>/dev/null || return 0
  kill -TERM "$1" 2>/dev/null || true
  timeout "$2" tail --pid="$1" -f /dev/null || kill -KILL "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}
stop_berth() {
  if [[ -n "$berthd_pid" ]] && kill -0 "$berthd_pid" 2>/dev/null; then
    local c
    for c in $(berth ps -a --format json 2>/dev/null | jq -r '.id' 2>/dev/null | sort -u); do
      timeout 60 "$BERTH_HOME/bin/berth" --socket "$BSOCK" rm -f "$c" >/dev/null 2>&1 || true
    done
    stop_pid "$berthd_pid" 20
  fi
  berthd_pid=""
  # berthd leaves its pre-started spare shim running
  local p
  for p in $(pgrep -f dev.berth.shim.ShimMain || true); do
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "$BSTATE/" && { kill -KILL "$p" 2>/dev/null || true; }
  done
  return 0
}
stop_podman() {
  (( podman_used )) || return 0
  timeout 120 "${PODMAN[@]}" rm -f -a -t 0 >/dev/null 2>&1 || true
}
stop_docker() {
  local proxies
  if [[ -n "$dockerd_pid" ]] && kill -0 "$dockerd_pid" 2>/dev/null; then
    local ids; ids=$(dockerc ps -aq 2>/dev/null || true)
    [[ -z "$ids" ]] || timeout 120 "$DOCKER_BIN" -H "unix://$DSOCK" rm -f $ids >/dev/null 2>&1 || true
    proxies=$(docker_proxy_pids)
    stop_pid "$dockerd_pid" 30
    for p in $proxies; do kill -KILL "$p" 2>/dev/null || true; done
  fi
  dockerd_pid=""
  stop_pid "$containerd_pid" 20
  containerd_pid=""
  return 0
}
# dockerd leaves its iptables chains and rules behind; removed unless another dockerd uses them
docker_iptables_cleanup() {
  (( docker_started )) || return 0
  if pgrep -x dockerd >/dev/null; then
    say "another dockerd runs: only the rules naming $BR_DOCKER are removed"
  fi
  local table rule others=0
  pgrep -x dockerd >/dev/null && others=1
  for table in nat filter; do
    iptables -t "$table" -S 2>/dev/null | grep -e '^-A ' | while read -r rule; do
      if [[ "$rule" == *"$BR_DOCKER"* ]] || { (( ! others )) && [[ "$rule" =~ (-j|-A)\ DOCKER ]]; }; then
        eval "iptables -t $table ${rule/#-A/-D}" 2>/dev/null
      fi
    done
    if (( ! others )); then
      for chain in DOCKER DOCKER-ISOLATION-STAGE-1 DOCKER-ISOLATION-STAGE-2 DOCKER-USER; do
        iptables -t "$table" -F "$chain" 2>/dev/null && iptables -t "$table" -X "$chain" 2>/dev/null
      done
    fi
  done
  return 0
}
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  set +e
  say "cleaning up $T"
  stop_berth
  stop_podman
  stop_docker
  docker_iptables_cleanup
  local p
  for p in $(our_pids); do kill -KILL "$p" 2>/dev/null; done
  sleep 0.2
  # runc containers left behind by killed shims / conmons
  local root c
  for root in "$BSTATE/runc" "$T/prunc" "$T/dexec/runtime-runc/moby" "$T/dcs/runc/moby"; do
    [[ -d "$root" ]] || continue
    for c in $(runc --root "$root" list -q 2>/dev/null); do
      runc --root "$root" kill "$c" KILL >/dev/null 2>&1; sleep 0.2
      runc --root "$root" delete -f "$c" >/dev/null 2>&1
    done
  done
  # mounts under our directory, deepest first
  awk -v t="$T/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null
  done
  # our bridges (veths of removed containers are gone with their namespaces)
  local br
  for br in "$BR_BERTH" "$BR_DOCKER" "$BR_PODMAN"; do
    ip link show "$br" >/dev/null 2>&1 && ip link del "$br" 2>/dev/null
  done
  if (( docker_started )) && ! live dockerd; then
    (( docker_key_existed )) || rm -f /etc/docker/key.json
    (( docker_run_existed )) || rmdir /run/docker/plugins /run/docker 2>/dev/null
  fi
  if (( docker_started )) && ! live containerd; then
    (( ctrd_run_existed )) || rmdir /run/containerd/s /run/containerd 2>/dev/null
  fi
  # podman's CNI leases: host-local keeps them in /var/lib/cni/networks/NAME
  rm -rf "/var/lib/cni/networks/$PNET" "/var/lib/cni/results/$PNET-"*
  rmdir /var/lib/cni/networks /var/lib/cni/results /var/lib/cni 2>/dev/null
  # empty cgroups of our container parents
  local d
  for d in /sys/fs/cgroup/*/"bb$tag-docker" /sys/fs/cgroup/"bb$tag-docker"; do
    [[ -d "$d" ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  if (( podman_used )) && ! live podman && ! live conmon; then
    for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
      [[ -d "$d" ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
    done
    # podman makes /run/netns a shared bind mount of itself for its namespace files, and /run/runc
    if (( ! netns_was_mount )) && mountpoint -q /run/netns && [[ -z "$(ls -A /run/netns)" ]]; then
      umount /run/netns 2>/dev/null
    fi
    (( netns_existed )) || rmdir /run/netns 2>/dev/null
    (( runc_root_existed )) || rmdir /run/runc 2>/dev/null
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
declare -A used_ports
free_port() { # a free TCP port on the host, never one handed out before in this run
  local p
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("0.0.0.0", 0)); print(s.getsockname()[1])')
    [[ -z "${used_ports[$p]:-}" ]] && { used_ports[$p]=1; echo "$p"; return 0; }
  done
  die "no free port"
}
# three /24s in 10.0.0.0/8 (from 10.213.0.0/16 on) that no host route overlaps
free_subnets() {
  ip -4 -o route show table all | python3 -c '
import ipaddress, sys
taken = []
for line in sys.stdin:
    words = line.split()
    if words and words[0] in ("local", "broadcast", "unicast", "multicast"): words = words[1:]
    try: taken.append(ipaddress.ip_network(words[0] if words[0] != "default" else "0.0.0.0/32", strict=False))
    except (ValueError, IndexError): pass
free = []
for n in ipaddress.ip_network("10.213.0.0/16").subnets(new_prefix=24):
    if not any(n.overlaps(t) for t in taken if t.prefixlen > 0): free.append(str(n))
    if len(free) == 3: break
print(" ".join(free))'
}
read -r SUB_BERTH SUB_DOCKER SUB_PODMAN <<<"$(free_subnets)"
[[ -n "$SUB_PODMAN" ]] || die "no free /24 in 10.213.0.0/16 for the bridges"
gateway_of() { local n="${1%/*}"; echo "${n%.*}.1"; }

declare -A R   # results: R[system.metric]

# wait_http PORT: the status of the first HTTP answer on 127.0.0.1:PORT (15 s at most)
wait_http() {
  local code deadline=$((SECONDS + 15))
  while :; do
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null || true)
    [[ -n "$code" && "$code" != 000 ]] && { echo "$code"; return 0; }
    (( SECONDS < deadline )) || { echo "none"; return 0; }
    sleep 0.1
  done
}

# bench SYS LABEL RUN-CMD... : warm-up + port check, then $runs interleaved pairs; RUN-CMD is the
# system's `run` (e.g. berth run); containers named nb-*; returns the names in NAMES
bench() {
  local sys="$1" label="$2" i port; shift 2
  local -a run=("$@")
  port=$(free_port)
  say "$label: warm-up pair; published port $port checked with curl"
  timed "$T/$sys.warm" "${run[@]}" -d --name nb-warm-bridge -p "$port:80" busybox httpd -f -p 80
  timed "$T/$sys.warm" "${run[@]}" -d --name nb-warm-none --network none busybox httpd -f -p 80
  R[$sys.http]=$(wait_http "$port")
  say "$label: http://127.0.0.1:$port/ answered ${R[$sys.http]}"
  NAMES=(nb-warm-bridge nb-warm-none)
  say "$label: $runs x (run -d -p PORT:80, run -d --network none) busybox httpd -f -p 80"
  : >"$T/$sys.bridge"; : >"$T/$sys.none"
  for ((i = 1; i <= runs; i++)); do
    port=$(free_port)
    timed "$T/$sys.bridge" "${run[@]}" -d --name "nb-bridge-$i" -p "$port:80" busybox httpd -f -p 80
    timed "$T/$sys.none" "${run[@]}" -d --name "nb-none-$i" --network none busybox httpd -f -p 80
    NAMES+=("nb-bridge-$i" "nb-none-$i")
  done
  R[$sys.bridge_p50]=$(percentile 50 "$T/$sys.bridge"); R[$sys.bridge_p95]=$(percentile 95 "$T/$sys.bridge")
  R[$sys.none_p50]=$(percentile 50 "$T/$sys.none"); R[$sys.none_p95]=$(percentile 95 "$T/$sys.none")
  R[$sys.cost]=$(awk -v a="${R[$sys.bridge_p50]}" -v b="${R[$sys.none_p50]}" 'BEGIN { printf "%.1f", a - b }')
  say "$label: p50 bridge+port ${R[$sys.bridge_p50]} ms, none ${R[$sys.none_p50]} ms"
}
# check_running LABEL N: warns unless N (the running ones) is the number of NAMES
check_running() {
  local label="$1" n="$2"
  (( n == ${#NAMES[@]} )) || say "$label: warning: $n of ${#NAMES[@]} containers running"
}

# ------------------------------------------------------------------ Berth
bench_berth() {
  mkdir -p "$BROOT" "$BSTATE"
  say "berth: starting berthd (root $BROOT, state $BSTATE, bridge $BR_BERTH on $SUB_BERTH)"
  "$BERTH_HOME/bin/berthd" --root "$BROOT" --state "$BSTATE" --socket "$BSOCK" \
    --bridge "$BR_BERTH" --bridge-subnet "$SUB_BERTH" 2>"$T/berthd.log" &
  berthd_pid=$!
  local deadline=$((SECONDS + 120))
  until [[ -S "$BSOCK" ]] && berth version >/dev/null 2>&1; do
    kill -0 "$berthd_pid" 2>/dev/null || { tail -20 "$T/berthd.log" >&2; die "berthd exited"; }
    (( SECONDS < deadline )) || die "berthd does not answer on $BSOCK"
    sleep 0.1
  done
  berth image import "$archive" --name busybox:latest >/dev/null
  sleep 2
  bench berth Berth berth run
  check_running berth "$(berth inspect "${NAMES[@]}" | jq '[.[] | select(.state == "running")] | length')"
  say "berth: removing containers, stopping berthd"
  berth rm -f "${NAMES[@]}" >/dev/null || say "berth: warning: rm -f failed"
  stop_berth
}

# ------------------------------------------------------------------ podman
bench_podman() {
  mkdir -p "$T/proot" "$T/prun" "$T/plib" "$T/ptmp" "$T/pcni"
  cat >"$T/storage.conf" <<EOF
[storage]
driver = "overlay"
graphroot = "$T/proot"
runroot = "$T/prun"
EOF
  # podman sets nofile and nproc to 1048576 in every container, which fails without
  # CAP_SYS_RESOURCE (sandboxed hosts): this shell's limits instead, which dockerd's and berthd's
  # containers inherit; nproc at most 32768, to which podman 4.3 lowers its own limit
  local nproc; nproc=$(ulimit -Hu); [[ "$nproc" == unlimited || "$nproc" -gt 32768 ]] && nproc=32768
  cat >"$T/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$nproc:$nproc"]
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "runc"
tmp_dir = "$T/plib"
[network]
network_backend = "cni"
network_config_dir = "$T/pcni"
EOF
  podman_used=1
  say "podman: $(podman --version | awk '{print $3}') (root $T/proot, CNI network $PNET: bridge $BR_PODMAN on $SUB_PODMAN)"
  # podman 4.3 has no --interface-name: the bridge (cni-podmanN) is renamed in the conflist it wrote
  podmanc network create --driver bridge --subnet "$SUB_PODMAN" --disable-dns "$PNET" >/dev/null
  sed -i -E "s/(\"bridge\": *)\"cni-podman[0-9]+\"/\\1\"$BR_PODMAN\"/" "$T/pcni/$PNET.conflist"
  grep -qF "\"$BR_PODMAN\"" "$T/pcni/$PNET.conflist" || die "podman: no bridge to rename in $T/pcni/$PNET.conflist"
  # only now the default (named before it exists, podman would make it in memory and refuse the create)
  echo "default_network = \"$PNET\"" >>"$T/containers.conf"
  podmanc load -q -i "$archive" >/dev/null
  sleep 1
  bench podman podman podmanc run
  check_running podman "$(podmanc ps -q --filter status=running | wc -l)"
  say "podman: removing containers"
  podmanc rm -f -t 0 "${NAMES[@]}" >/dev/null || say "podman: warning: rm -f failed"
  stop_podman
}

# ------------------------------------------------------------------ docker
bench_docker() {
  mkdir -p "$T/droot" "$T/dexec" "$T/dcfg" "$T/dcroot" "$T/dcs"
  # containerd as compare.sh starts it: private root, state and socket, CRI disabled
  cat >"$T/containerd.toml" <<EOF
version = 2
root = "$T/dcroot"
state = "$T/dcs"
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
  containerd --config "$T/containerd.toml" >"$T/containerd.log" 2>&1 &
  containerd_pid=$!
  local deadline=$((SECONDS + 60))
  until [[ -S "$CSOCK" ]] && ctr -a "$CSOCK" version >/dev/null 2>&1; do
    kill -0 "$containerd_pid" 2>/dev/null || { tail -20 "$T/containerd.log" >&2; die "containerd exited"; }
    (( SECONDS < deadline )) || die "containerd does not answer on $CSOCK"
    sleep 0.1
  done
  # dockerd's own bridge (--bip would name it docker0): made here, dockerd takes its address
  ip link add name "$BR_DOCKER" type bridge
  docker_bridge="$BR_DOCKER"
  ip addr add "$(gateway_of "$SUB_DOCKER")/${SUB_DOCKER#*/}" dev "$BR_DOCKER"
  ip link set "$BR_DOCKER" up
  echo '{}' >"$T/daemon.json"
  say "docker: dockerd $(dockerd --version | awk '{print $3}' | tr -d ,) (data-root $T/droot, bridge $BR_DOCKER on $SUB_DOCKER)"
  docker_started=1
  dockerd --data-root "$T/droot" --exec-root "$T/dexec" -H "unix://$DSOCK" --pidfile "$T/dockerd.pid" \
    --config-file "$T/daemon.json" --containerd "$CSOCK" --bridge "$BR_DOCKER" \
    --cgroup-parent "/bb$tag-docker" >"$T/dockerd.log" 2>&1 &
  dockerd_pid=$!
  deadline=$((SECONDS + 60))
  until [[ -S "$DSOCK" ]] && dockerc version >/dev/null 2>&1; do
    kill -0 "$dockerd_pid" 2>/dev/null || { tail -20 "$T/dockerd.log" >&2; die "dockerd exited"; }
    (( SECONDS < deadline )) || die "dockerd does not answer on $DSOCK"
    sleep 0.1
  done
  dockerc load -q -i "$archive" >/dev/null
  sleep 1
  bench docker docker dockerc run
  check_running docker "$(dockerc ps -q --filter status=running | wc -l)"
  say "docker: removing containers, stopping dockerd"
  dockerc rm -f "${NAMES[@]}" >/dev/null || say "docker: warning: rm -f failed"
  stop_docker
}

want berth && bench_berth
want podman && bench_podman
want docker && bench_docker

# ------------------------------------------------------------------ report
val() { local v="${R[$1]:-}"; echo "${v:-n/a}"; }
ratio() { # ratio A B: A/B, n/a when either is missing or B is not positive
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "n/a" || b == "n/a" || b + 0 <= 0) print "n/a"; else printf "%.2f", a / b }'
}
echo
printf 'run -d start latency with networking: %s runs each, %s cores, %s\n' "$runs" "$(nproc)" "$(uname -r)"
printf '%-16s %14s %14s %10s %10s %14s %6s\n' system "p50 bridge+-p" "p95 bridge+-p" "p50 none" "p95 none" "network cost" HTTP
for sys in berth podman docker; do
  want "$sys" || continue
  case "$sys" in
    berth) name="Berth" ;;
    podman) name="podman $(podman --version | awk '{print $3}')" ;;
    docker) name="docker $(dockerd --version | awk '{print $3}' | tr -d , | sed 's/+.*//')" ;;
  esac
  printf '%-16s %14s %14s %10s %10s %14s %6s\n' "$name" "$(val $sys.bridge_p50)" "$(val $sys.bridge_p95)" \
    "$(val $sys.none_p50)" "$(val $sys.none_p95)" "$(val $sys.cost)" "$(val $sys.http)"
done
for other in podman docker; do
  want berth && want "$other" || continue
  printf '%-16s %14s %14s %10s %10s %14s\n' "Berth/$other" "$(ratio "$(val berth.bridge_p50)" "$(val $other.bridge_p50)")" \
    "$(ratio "$(val berth.bridge_p95)" "$(val $other.bridge_p95)")" "$(ratio "$(val berth.none_p50)" "$(val $other.none_p50)")" \
    "$(ratio "$(val berth.none_p95)" "$(val $other.none_p95)")" "$(ratio "$(val berth.cost)" "$(val $other.cost)")"
done
echo "(ms; network cost = p50 bridge+port - p50 none; HTTP = status of the published port via 127.0.0.1)"
if want berth && want podman; then
  awk -v b="${R[berth.cost]}" -v p="${R[podman.cost]}" 'BEGIN {
    printf "target: Berth network cost %.1f ms <= podman %.1f ms: %s\n", b, p, (b <= p ? "met" : "NOT met") }'
fi
