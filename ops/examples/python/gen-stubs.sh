#!/usr/bin/env bash
# Generates Python stubs for berth.v1 into OUT_DIR (default build/python-stubs in the checkout):
#   berth/v1/*_pb2.py, *_pb2_grpc.py     the API (from api/src/main/proto)
#   google/rpc/{status,error_details}_pb2.py   the error details (from the Maven jar
#                                        com.google.api.grpc:proto-google-common-protos in ~/.m2)
#   reflection_stubs/{v1,v1alpha}/reflection_pb2*.py   server reflection, grpc.reflection.v1 and
#                                        v1alpha (jar io.grpc:grpc-services; moved out of the path
#                                        grpc/, which grpcio's own package would shadow)
# Then: PYTHONPATH=OUT_DIR /usr/bin/python3 berth_client.py ...
#
# Uses Debian's protoc 3.21 and grpc_python_plugin (packages protobuf-compiler, libprotobuf-dev,
# protobuf-compiler-grpc; runtime: python3-grpcio, python3-protobuf). Debian's python3-grpc-tools
# (`python3 -m grpc_tools.protoc`) bundles protoc 3.5, which predates proto3 `optional`, so it
# cannot compile berth.v1; a pip-installed grpcio-tools (>= 1.32) can, with the same arguments.
set -euo pipefail

here="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")" && pwd -P)"
berth_home="$(cd "$here/../../.." && pwd -P)"
out="${1:-$berth_home/build/python-stubs}"
m2="${MAVEN_REPO:-$HOME/.m2/repository}"

die() { printf 'gen-stubs: error: %s\n' "$*" >&2; exit 1; }
command -v protoc >/dev/null || die "no protoc (apt-get install protobuf-compiler libprotobuf-dev)"
plugin="$(command -v grpc_python_plugin)" || die "no grpc_python_plugin (apt-get install protobuf-compiler-grpc)"

# The newest version of a jar in the local Maven repository (the build put it there).
jar() { # GROUP-PATH ARTIFACT
  local j
  j="$(ls "$m2/$1/$2"/*/"$2"-*[0-9].jar 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$j" ]] || die "no $2 jar under $m2/$1 (run mvn -B -DskipTests install first)"
  echo "$j"
}

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && unzip -q -o "$(jar com/google/api/grpc proto-google-common-protos)" \
    google/rpc/status.proto google/rpc/error_details.proto \
  && unzip -q -o "$(jar io/grpc grpc-services)" \
    grpc/reflection/v1/reflection.proto grpc/reflection/v1alpha/reflection.proto \
  && mkdir -p reflection_stubs && mv grpc/reflection/v1 grpc/reflection/v1alpha reflection_stubs/)

mkdir -p "$out"
out="$(cd "$out" && pwd -P)"
cd "$berth_home/api/src/main/proto"
public=(berth/v1/*.proto berth/test/v1/*.proto)
protoc -I . -I "$tmp" -I /usr/include \
  --python_out="$out" --grpc_python_out="$out" --plugin=protoc-gen-grpc_python="$plugin" \
  "${public[@]}"
(cd "$tmp" && protoc -I . -I /usr/include \
  --python_out="$out" --grpc_python_out="$out" --plugin=protoc-gen-grpc_python="$plugin" \
  google/rpc/status.proto google/rpc/error_details.proto \
  reflection_stubs/v1/reflection.proto reflection_stubs/v1alpha/reflection.proto)
echo "gen-stubs: $out"
