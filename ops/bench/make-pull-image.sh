#!/usr/bin/env bash
# Builds the pull-benchmark image: an OCI layout of the busybox test image plus one layer of
# SIZE MiB of random (incompressible) data in 8 files, so a pull measures transfer, digesting and
# unpacking rather than only round trips.
#
#   ops/bench/make-pull-image.sh OUTDIR SIZE_MIB
set -euo pipefail
[[ $# -eq 2 && "$2" =~ ^[0-9]+$ ]] || { echo "usage: $0 OUTDIR SIZE_MIB" >&2; exit 2; }
out="$1"; size="$2"
BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/../.." && pwd -P)"
busybox="$BERTH_HOME/build/images/busybox"
[[ -f "$busybox/index.json" ]] || "$BERTH_HOME/ops/images/make-busybox-image.sh" "$busybox" >&2
export LC_ALL=C
rm -rf -- "$out"; mkdir -p "$out/blobs/sha256"
work="$(mktemp -d)"; trap 'rm -rf -- "$work"' EXIT

blob() { jq -r "$1" "$busybox/$2"; }
put() { # put FILE -> prints digest
  local d; d="sha256:$(sha256sum "$1" | cut -d' ' -f1)"
  cp -- "$1" "$out/blobs/sha256/${d#sha256:}"; echo "$d"
}
mdig="$(jq -r '.manifests[0].digest' "$busybox/index.json")"
manifest="$busybox/blobs/sha256/${mdig#sha256:}"
cdig="$(jq -r '.config.digest' "$manifest")"
base="$(jq -c '.layers[0]' "$manifest")"
ldig="$(jq -r '.digest' <<<"$base")"
cp -- "$busybox/blobs/sha256/${ldig#sha256:}" "$out/blobs/sha256/"

mkdir -p "$work/data/bench"
for i in 1 2 3 4 5 6 7 8; do head -c "$(( size * 1024 * 128 ))" /dev/urandom >"$work/data/bench/blob-$i"; done
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/data" -cf "$work/layer.tar" bench
diff="sha256:$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
gzip -n -1 -c "$work/layer.tar" >"$work/layer.tar.gz"
gdig="$(put "$work/layer.tar.gz")"; gsize="$(stat -c %s "$work/layer.tar.gz")"

jq -c --arg d "$diff" '.rootfs.diff_ids += [$d]' "$busybox/blobs/sha256/${cdig#sha256:}" >"$work/config.json"
ncdig="$(put "$work/config.json")"; ncsize="$(stat -c %s "$work/config.json")"
jq -nc --argjson base "$base" --arg c "$ncdig" --argjson cs "$ncsize" --arg g "$gdig" --argjson gs "$gsize" '{
  schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
  config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs},
  layers: [$base, {mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $g, size: $gs}]}' >"$work/manifest.json"
nmdig="$(put "$work/manifest.json")"; nmsize="$(stat -c %s "$work/manifest.json")"
printf '{"imageLayoutVersion":"1.0.0"}' >"$out/oci-layout"
jq -nc --arg m "$nmdig" --argjson s "$nmsize" '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json",
  digest: $m, size: $s, annotations: {"org.opencontainers.image.ref.name": "latest"}}]}' >"$out/index.json"
