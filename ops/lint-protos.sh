#!/usr/bin/env bash
# Checks the public gRPC contract (api/src/main/proto, without the private berth/shim):
#   1. `buf lint` with api/src/main/proto/buf.yaml (buf's STANDARD rules);
#   2. every public proto compiles with Debian's protoc (3.21), the "current protoc" an
#      integrator generates stubs with (ops/examples/python/gen-stubs.sh uses the same).
# buf comes from ops/setup.sh (build/tools/buf); run by ops/test.sh before maven.
set -euo pipefail

BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd -P)"
buf="$BERTH_HOME/build/tools/buf/node_modules/@bufbuild/buf-linux-x64/bin/buf"
proto_dir="$BERTH_HOME/api/src/main/proto"
wkt=/usr/include/google/protobuf   # libprotobuf-dev: timestamp.proto, duration.proto

say() { printf 'lint-protos: %s\n' "$*"; }
die() { printf 'lint-protos: error: %s\n' "$*" >&2; exit 1; }

[[ -x "$buf" ]] || die "no $buf (run ops/setup.sh)"
command -v protoc >/dev/null || die "no protoc (apt-get install protobuf-compiler libprotobuf-dev)"
[[ -f "$wkt/timestamp.proto" ]] || die "no $wkt/timestamp.proto (apt-get install libprotobuf-dev)"

cd "$proto_dir"
# buf keeps a module cache; keep it in the build tree, not in $HOME.
export BUF_CACHE_DIR="$BERTH_HOME/build/tools/buf/cache"
"$buf" lint --error-format text || die "buf lint failed (rules: $proto_dir/buf.yaml)"
say "buf lint $("$buf" --version): ok"

mapfile -t public < <(find berth -name '*.proto' -not -path 'berth/shim/*' | sort)
(( ${#public[@]} > 0 )) || die "no public protos under $proto_dir/berth"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
protoc -I . -I /usr/include --fatal_warnings --descriptor_set_out="$out/public.pb" "${public[@]}" \
  || die "protoc failed"
say "$(protoc --version): ${#public[@]} public protos compile"
