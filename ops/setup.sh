#!/usr/bin/env bash
# Prepares this machine and this checkout for running and testing Berth. Idempotent and quick
# when nothing changed; prints one line per step.
#
#   1. Debian packages (apt-get only when something is missing)
#   2. the busybox test image in build/images/busybox (+ busybox-docker.tar)
#   2b. buf (the proto linter, from npm) in build/tools/buf
#   3. mvn -B -q -DskipTests install (only when a source or pom changed since the last build)
#   4. class-data-sharing archives for the shim, the CLI and berthd (ops/{shim,cli,daemon}-cds.sh)
#
# Environment: BERTH_SETUP_FORCE_BUILD=1 rebuilds unconditionally.
set -euo pipefail

BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd -P)"
cd "$BERTH_HOME"

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

mkdir -p build/setup
# One setup at a time (ops/start.sh and ops/test.sh may run concurrently).
exec 9>build/setup/lock
flock 9

# ------------------------------------------------------------------ 1. packages
java_major() {
  local v
  v="$(javac -version 2>&1 | awk '{print $2}')" || return 1
  v="${v%%.*}"
  [[ "$v" =~ ^[0-9]+$ ]] && echo "$v"
}

missing_required=()
missing_optional=()
need() { # need KIND PACKAGE CHECK-COMMAND...
  local kind="$1" pkg="$2"; shift 2
  if ! "$@" >/dev/null 2>&1; then
    if [[ "$kind" == required ]]; then missing_required+=("$pkg"); else missing_optional+=("$pkg"); fi
  fi
}
have_static_busybox() { [[ -x /bin/busybox ]] && dpkg -s busybox-static >/dev/null 2>&1; }
have_java17() { local m; m="$(java_major)" && (( m >= 17 )) && command -v java; }

need required runc                    command -v runc
need required busybox-static          have_static_busybox
need required maven                   command -v mvn
need required openjdk-17-jdk-headless have_java17
need required skopeo                  command -v skopeo     # pushes test images to the local registry
need optional umoci                   command -v umoci
need required attr                    command -v setfattr   # overlay opaque dirs (trusted.overlay.opaque)
need optional tini                    command -v tini
need optional containerd              command -v containerd
need optional hyperfine               command -v hyperfine
need optional jq                      command -v jq         # ops/bench
need required docker-registry         command -v docker-registry  # registry tests (RegistryIT) and ops/bench --pull
need required apache2-utils           command -v htpasswd   # RegistryIT: bcrypt htpasswd for basic auth
need required golang-github-containers-common test -f /usr/share/containers/seccomp.json  # berthd's default seccomp profile
need required libc6-dev               test -f /usr/lib/x86_64-linux-gnu/libc.a  # SeccompIT builds a static keyctl probe (gcc -static)
need required gcc                     command -v gcc
need required protobuf-compiler       command -v protoc     # ops/lint-protos.sh: the protos compile with Debian's protoc
need required libprotobuf-dev         test -f /usr/include/google/protobuf/timestamp.proto  # protoc's well-known types
need required protobuf-compiler-grpc  command -v grpc_python_plugin  # Python stubs (ops/examples/python, PythonClientIT)
need required python3-grpcio          /usr/bin/python3 -c 'import grpc'
need required python3-protobuf        /usr/bin/python3 -c 'import google.protobuf'
need required python3-grpc-tools      /usr/bin/python3 -c 'import grpc_tools'
need required npm                     command -v npm        # installs buf (ops/lint-protos.sh)
need required unzip                   command -v unzip      # gen-stubs.sh takes google.rpc and reflection protos from jars
need required containernetworking-plugins test -x /usr/lib/cni/bridge  # container networks (bridge, host-local, portmap, firewall, loopback)
need required iptables                command -v iptables   # portmap's and firewall's rules
need required curl                    command -v curl       # NetworkIT fetches published ports from the host

missing=("${missing_required[@]}" "${missing_optional[@]}")
if (( ${#missing[@]} == 0 )); then
  say "packages: all present"
else
  if [[ $EUID -ne 0 ]]; then
    (( ${#missing_required[@]} == 0 )) || die "missing packages ${missing_required[*]} (run as root to install)"
    say "packages: optional ${missing_optional[*]} missing (not root, not installing)"
  else
    say "packages: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >build/setup/apt.log 2>&1; then
      say "packages: apt-get failed (see build/setup/apt.log)"
    fi
    # Re-check: only the required ones are fatal.
    missing_required=(); missing_optional=()
    need required runc                    command -v runc
    need required busybox-static          have_static_busybox
    need required maven                   command -v mvn
    need required openjdk-17-jdk-headless have_java17
    need required skopeo                  command -v skopeo
    need required docker-registry         command -v docker-registry
    need required apache2-utils           command -v htpasswd
    need required golang-github-containers-common test -f /usr/share/containers/seccomp.json
    need required libc6-dev               test -f /usr/lib/x86_64-linux-gnu/libc.a
    need required gcc                     command -v gcc
    need required protobuf-compiler       command -v protoc     # ops/lint-protos.sh: the protos compile with Debian's protoc
    need required libprotobuf-dev         test -f /usr/include/google/protobuf/timestamp.proto  # protoc's well-known types
    need required protobuf-compiler-grpc  command -v grpc_python_plugin  # Python stubs (ops/examples/python, PythonClientIT)
    need required python3-grpcio          /usr/bin/python3 -c 'import grpc'
    need required python3-protobuf        /usr/bin/python3 -c 'import google.protobuf'
    need required python3-grpc-tools      /usr/bin/python3 -c 'import grpc_tools'
    need required npm                     command -v npm        # installs buf (ops/lint-protos.sh)
    need required unzip                   command -v unzip      # gen-stubs.sh takes google.rpc and reflection protos from jars
    (( ${#missing_required[@]} == 0 )) || die "still missing required packages: ${missing_required[*]}"
  fi
fi

# ------------------------------------------------------------------ 2. busybox image (independent of the build)
image=build/images/busybox
if [[ ! -f "$image/index.json" ]] || { command -v skopeo >/dev/null && [[ ! -f "$image-docker.tar" ]]; } \
   || [[ ops/images/make-busybox-image.sh -nt "$image/index.json" ]]; then
  say "image: ops/images/make-busybox-image.sh $image"
  ops/images/make-busybox-image.sh "$image" >build/setup/image.log 2>&1 \
    || { cat build/setup/image.log >&2; die "building the busybox image failed"; }
else
  say "image: $image present"
fi

# ------------------------------------------------------------------ 2b. buf (independent of the build)
# The npm package ships the release binary in a per-platform package; npm 11 skips its postinstall
# script, which only checks that binary. Pinned: a newer buf may add lint rules.
buf_version=1.75.0
buf=build/tools/buf/node_modules/@bufbuild/buf-linux-x64/bin/buf
if [[ -x "$buf" ]] && [[ "$("$buf" --version 2>/dev/null)" == "$buf_version" ]]; then
  say "buf: $buf_version present"
else
  say "buf: npm install @bufbuild/buf@$buf_version into build/tools/buf"
  mkdir -p build/tools/buf
  npm install --prefix build/tools/buf --no-audit --no-fund --no-save "@bufbuild/buf@$buf_version" \
      >build/setup/buf.log 2>&1 || { cat build/setup/buf.log >&2; die "installing buf failed"; }
  [[ -x "$buf" ]] || die "npm installed no $buf (see build/setup/buf.log)"
fi

# ------------------------------------------------------------------ 3. build
modules=(api core runtime-native shim persistence images task actors daemon cli build-tools)
stamp=build/setup/mvn-install.stamp
build_reason=""
if [[ "${BERTH_SETUP_FORCE_BUILD:-0}" == 1 ]]; then
  build_reason="forced"
elif [[ ! -f "$stamp" ]]; then
  build_reason="first build"
else
  for m in "${modules[@]}"; do
    compgen -G "$m/target/*.jar" >/dev/null || { build_reason="$m/target has no jar"; break; }
  done
  if [[ -z "$build_reason" ]] && [[ ! -d daemon/target/lib || ! -d shim/target ]]; then
    build_reason="daemon/target/lib missing"
  fi
  if [[ -z "$build_reason" ]]; then
    newer="$(find pom.xml "${modules[@]/%//pom.xml}" src/test/pom.xml "${modules[@]/%//src}" src/test/java \
                  -newer "$stamp" -type f -print -quit 2>/dev/null || true)"
    [[ -n "$newer" ]] && build_reason="$newer changed"
  fi
fi
if [[ -n "$build_reason" ]]; then
  say "build: mvn -B -q -DskipTests install ($build_reason)"
  touch build/setup/mvn-install.started
  if ! mvn -B -q -DskipTests install; then
    die "build failed (mvn -B -DskipTests install)"
  fi
  # Sources edited during the build are caught next time: the stamp has the build's start time.
  touch -r build/setup/mvn-install.started "$stamp"
else
  say "build: up to date"
fi

# ------------------------------------------------------------------ 4. CDS archives
"$BERTH_HOME/ops/refresh-archives.sh"

