#!/usr/bin/env bash
# Builds berthd's AppCDS archive, daemon/target/berthd.jsa (bin/berthd uses it when it is newer
# than the jars). It takes the daemon's start from ~3.2 s to ~1.8 s, which is most of the time a
# restarted daemon needs before it answers and reconciles.
#
# Training run: a private berthd (temp --root/--state) with -XX:ArchiveClassesAtExit, driven
# through the common path with bin/berth (image import, run -d, ps, events, logs, exec, stop, rm),
# then SIGTERM (berthd exits 0, so the JVM writes the archive). Rerun after rebuilding the jars.
set -euo pipefail

BERTH_HOME="$(cd -P "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
jsa="$BERTH_HOME/daemon/target/berthd.jsa"
image="$BERTH_HOME/build/images/busybox"
[[ -d "$image" ]] || { echo "daemon-cds: $image missing (ops/images/make-busybox-image.sh)" >&2; exit 1; }

work="$(mktemp -d /tmp/bd-cds-XXXX)"
sock="$work/state/berth.sock"
pid=""
berth() { "$BERTH_HOME/bin/berth" --socket "$sock" "$@"; }
cleanup() {
  if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  for f in "$work"/state/shims/*/shim.pid "$work"/state/groups/*/shim.pid "$work"/state/groups/.spare-*/shim.pid; do [[ -f "$f" ]] && kill -KILL "$(<"$f")" 2>/dev/null; done
  for c in $(runc --root "$work/state/runc" list -q 2>/dev/null); do runc --root "$work/state/runc" delete -f "$c" >/dev/null 2>&1; done
  awk -v t="$work/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$work" "$jsa.tmp"
}
trap cleanup EXIT

BERTHD_CDS=off BERTHD_JAVA_OPTS="-XX:ArchiveClassesAtExit=$jsa.tmp -Xlog:disable -Xlog:all=error:stderr" \
  "$BERTH_HOME/bin/berthd" --root "$work/root" --state "$work/state" --socket "$sock" >"$work/berthd.log" 2>&1 &
pid=$!
for _ in $(seq 1 600); do
  berth version >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { echo "daemon-cds: training berthd died:" >&2; cat "$work/berthd.log" >&2; exit 1; }
  sleep 0.1
done
berth image import "$image" --name busybox:latest >/dev/null
id="$(berth run -d busybox sh -c 'echo trained; sleep 60')"
berth ps -a --format json >/dev/null
berth inspect "$id" >/dev/null
berth exec "$id" true
berth logs "$id" >/dev/null
berth events --since 0 --no-follow --format json >/dev/null
berth stop -t 1 "$id" >/dev/null
berth wait "$id" >/dev/null
berth rm "$id" >/dev/null
berth run --rm busybox true
kill -TERM "$pid"
wait "$pid" || { echo "daemon-cds: training berthd exited with $?:" >&2; tail -20 "$work/berthd.log" >&2; exit 1; }
pid=""
[[ -s "$jsa.tmp" ]] || { echo "daemon-cds: no archive written" >&2; exit 1; }
mv "$jsa.tmp" "$jsa"
echo "daemon-cds: wrote $jsa ($(du -h "$jsa" | cut -f1))"
