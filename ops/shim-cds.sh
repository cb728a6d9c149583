#!/usr/bin/env bash
# Builds the shim's AppCDS archive, shim/target/berth-shim.jsa (bin/berth-shim uses it when present).
#
# Training run: start a shim through bin/berth-shim with -XX:ArchiveClassesAtExit, drive the common
# path over gRPC (dev.berth.tools.shim.ShimProbe train, from the build-only build-tools jar: State, and as root with /bin/busybox also
# Create/Start/Exec/Pids/Kill/WaitExit/Delete on a busybox bundle), and let the shim exit normally
# (it exits by itself after Delete; otherwise SIGTERM, which the shim handles with exit 0) so the
# JVM writes the archive. Rerun after rebuilding the shim jars: a stale archive is ignored.
set -euo pipefail

BERTH_HOME="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target="$BERTH_HOME/shim/target"
jsa="$target/berth-shim.jsa"
java="java"
[ -n "${JAVA_HOME:-}" ] && java="$JAVA_HOME/bin/java"

tools="$BERTH_HOME/build-tools/target/berth-build-tools.jar"
if [ ! -f "$target/berth-shim.jar" ] || [ ! -f "$tools" ]; then
  echo "shim-cds: shim or build-tools not built (mvn -pl shim,build-tools -am install)" >&2
  exit 1
fi
# The probe is a client in a JVM of its own: the shim's jars plus the build-only tools jar.
cp="$target/berth-shim.jar"
for lib in "$target"/lib/*.jar; do cp="$cp:$lib"; done
cp="$cp:$tools"

work="$(mktemp -d /tmp/bs-cds-XXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  runc --root "$work/runc" delete --force cds-train >/dev/null 2>&1 || true
  while grep -q " $work/work/bundle/rootfs " /proc/self/mountinfo 2>/dev/null; do
    umount -l "$work/work/bundle/rootfs" || break
  done
  rm -rf "$work" "$jsa.tmp"
}
trap cleanup EXIT

# One training run: a shim through bin/berth-shim with the given environment, driven over gRPC,
# then ended normally so its JVM writes the archive.
train() {
  rm -rf "$work/state" "$work/runc" "$work/work" "$work/s.sock"
  env "$@" "$BERTH_HOME/bin/berth-shim" --id cds-train --state-dir "$work/state" --socket "$work/s.sock" \
    --runtime runc --runtime-root "$work/runc" >"$work/shim.log" 2>&1 &
  pid=$!

  for _ in $(seq 1 600); do
    [ -f "$work/state/address" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "shim-cds: training shim died:" >&2; cat "$work/shim.log" >&2; return 1; }
    sleep 0.05
  done
  [ -f "$work/state/address" ] || { echo "shim-cds: training shim did not come up" >&2; return 1; }

  "$java" -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$cp" dev.berth.tools.shim.ShimProbe train \
    "$work/s.sock" "$work/work"

  # After a full cycle the shim exits by itself after Delete; otherwise ask it to.
  for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -0 "$pid" 2>/dev/null && kill -TERM "$pid"
  wait "$pid" || { echo "shim-cds: training shim exited with $?:" >&2; cat "$work/shim.log" >&2; pid=""; return 1; }
  pid=""
}

train BERTH_SHIM_CDS=off BERTH_SHIM_JAVA_OPTS="-XX:ArchiveClassesAtExit=$jsa.tmp"
[ -s "$jsa.tmp" ] || { echo "shim-cds: no archive written:" >&2; cat "$work/shim.log" >&2; exit 1; }
mv "$jsa.tmp" "$jsa"
echo "shim-cds: wrote $jsa ($(du -h "$jsa" | cut -f1))"
