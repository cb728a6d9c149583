#!/usr/bin/env bash
# Builds, offline and deterministically, an OCI image layout of busybox from the host's
# statically linked busybox (Debian package busybox-static).
#
#   ops/images/make-busybox-image.sh OUTDIR
#
# OUTDIR becomes an OCI image layout (oci-layout, index.json, blobs/sha256/...) with one
# gzip layer and the tag "latest" (annotation org.opencontainers.image.ref.name). When skopeo
# is installed, a docker-archive tar (busybox:latest) is also written next to OUTDIR as
# $(dirname OUTDIR)/$(basename OUTDIR)-docker.tar.
#
# Determinism: the layer tar is sorted by name, every entry has mtime 0, uid/gid 0 and an
# explicit mode; gzip runs with -n; JSON documents are written byte for byte by this script.
# Rebuilding from the same busybox binary yields the same digests.
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
[[ $# -eq 1 && -n "$1" ]] || usage

out="$1"
busybox_bin="${BUSYBOX:-/bin/busybox}"
[[ -x "$busybox_bin" ]] || { echo "error: $busybox_bin not found (apt-get install busybox-static)" >&2; exit 1; }
if command -v file >/dev/null && ! file -L "$busybox_bin" | grep -q 'statically linked'; then
  echo "error: $busybox_bin is not statically linked (apt-get install busybox-static)" >&2; exit 1
fi
for tool in tar gzip sha256sum; do
  command -v "$tool" >/dev/null || { echo "error: $tool is required" >&2; exit 1; }
done

export LC_ALL=C TZ=UTC
umask 022

parent="$(dirname -- "$out")"
mkdir -p -- "$parent"
parent="$(cd -- "$parent" && pwd -P)"
name="$(basename -- "$out")"
out="$parent/$name"
work="$(mktemp -d "$parent/.$name.build.XXXXXX")"
trap 'rm -rf -- "$work"' EXIT

# ---------------------------------------------------------------- root filesystem
rootfs="$work/rootfs"
mkdir -p "$rootfs"/{bin,dev,etc,home,proc,root,sys,tmp,usr/bin,usr/sbin,var/tmp,var/log,var/www}
cp -- "$busybox_bin" "$rootfs/bin/busybox"
chmod 0755 "$rootfs/bin/busybox"

# Every applet the host binary provides, as a relative symlink in /bin (like the upstream image).
"$busybox_bin" --list | sort -u | while IFS= read -r applet; do
  case "$applet" in
    ''|busybox|*/*) continue ;;
  esac
  ln -s busybox "$rootfs/bin/$applet"
done
for required in sh sleep true false echo cat ls ps top env id hostname wget nc httpd mount umount \
                kill grep printf seq head tail wc date uname pwd mkdir rm touch; do
  [[ -L "$rootfs/bin/$required" ]] || { echo "error: $busybox_bin lacks applet '$required'" >&2; exit 1; }
done

printf '%s\n' \
  'root:x:0:0:root:/root:/bin/sh' \
  'nobody:x:65534:65534:nobody:/home:/bin/false' >"$rootfs/etc/passwd"
printf '%s\n' \
  'root:x:0:' \
  'nogroup:x:65534:' >"$rootfs/etc/group"
printf '%s\n' '127.0.0.1	localhost' '::1	localhost ip6-localhost ip6-loopback' >"$rootfs/etc/hosts"
: >"$rootfs/etc/resolv.conf"
printf 'berth\n' >"$rootfs/etc/hostname"

# Explicit modes: nothing depends on the builder's umask or source file modes.
find "$rootfs" -type d -exec chmod 0755 {} +
find "$rootfs/etc" -type f -exec chmod 0644 {} +
chmod 0755 "$rootfs/bin/busybox"
chmod 0700 "$rootfs/root"
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"

# ---------------------------------------------------------------- layer
layer_tar="$work/layer.tar"
mapfile -t top < <(cd "$rootfs" && ls -A | sort)
(cd "$rootfs" && tar --create --file="$layer_tar" \
    --format=gnu --sort=name --numeric-owner --owner=0 --group=0 \
    --mtime='@0' --no-acls --no-xattrs --no-selinux \
    -- "${top[@]}")
diff_id="sha256:$(sha256sum "$layer_tar" | cut -d' ' -f1)"
gzip -n -9 -c "$layer_tar" >"$work/layer.tar.gz"

blobs="$work/layout/blobs/sha256"
mkdir -p "$blobs"

# put_blob FILE -> prints "DIGEST SIZE" and stores the blob
put_blob() {
  local f="$1" hex size
  hex="$(sha256sum "$f" | cut -d' ' -f1)"
  size="$(stat -c %s "$f")"
  cp -- "$f" "$blobs/$hex"
  chmod 0644 "$blobs/$hex"
  echo "sha256:$hex $size"
}

read -r layer_digest layer_size < <(put_blob "$work/layer.tar.gz")

# ---------------------------------------------------------------- config
arch="$(uname -m)"
case "$arch" in
  x86_64) arch=amd64 ;;
  aarch64) arch=arm64 ;;
  armv7l) arch=arm ;;
esac
epoch='1970-01-01T00:00:00Z'
printf '%s' \
'{"architecture":"'"$arch"'","os":"linux","created":"'"$epoch"'",' \
'"config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"],"WorkingDir":"/"},' \
'"rootfs":{"type":"layers","diff_ids":["'"$diff_id"'"]},' \
'"history":[{"created":"'"$epoch"'","created_by":"ops/images/make-busybox-image.sh (host busybox-static)"}]}' \
  >"$work/config.json"
read -r config_digest config_size < <(put_blob "$work/config.json")

# ---------------------------------------------------------------- manifest + index
printf '%s' \
'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",' \
'"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"'"$config_digest"'","size":'"$config_size"'},' \
'"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"'"$layer_digest"'","size":'"$layer_size"'}]}' \
  >"$work/manifest.json"
read -r manifest_digest manifest_size < <(put_blob "$work/manifest.json")

printf '%s' \
'{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",' \
'"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"'"$manifest_digest"'","size":'"$manifest_size"',' \
'"platform":{"architecture":"'"$arch"'","os":"linux"},' \
'"annotations":{"org.opencontainers.image.ref.name":"latest"}}]}' \
  >"$work/layout/index.json"
printf '%s' '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
chmod 0644 "$work/layout/index.json" "$work/layout/oci-layout"

# ---------------------------------------------------------------- publish (replace atomically-ish)
rm -rf -- "$out.old"
[[ -e "$out" ]] && mv -- "$out" "$out.old"
mv -- "$work/layout" "$out"
rm -rf -- "$out.old"

echo "busybox image: $out (manifest $manifest_digest, config $config_digest, layer $layer_digest)"

# ---------------------------------------------------------------- docker-archive (optional)
if command -v skopeo >/dev/null; then
  archive="$parent/$name-docker.tar"
  rm -f -- "$archive" "$archive.tmp"
  skopeo --insecure-policy copy --quiet "oci:$out:latest" "docker-archive:$archive.tmp:busybox:latest" >/dev/null
  mv -- "$archive.tmp" "$archive"
  echo "docker archive: $archive (busybox:latest)"
fi
