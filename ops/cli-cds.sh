#!/usr/bin/env bash
# Builds the AppCDS archive of the berth CLI (cli/target/berth-cli.jsa), which bin/berth uses
# when it is newer than the jars. Run it after each `mvn -pl cli install`; no daemon is needed:
# the training run (dev.berth.cli.CdsTraining) renders help, fails a usage check, fails to
# connect to a missing socket (loading the gRPC/netty client) and renders table/JSON output,
# through bin/berth itself so the classpath and JVM flags are exactly those of real calls.
set -euo pipefail

home="$(readlink -f -- "${BASH_SOURCE[0]}")"
home="${home%/*/*}"
jsa="$home/cli/target/berth-cli.jsa"
tmp="$jsa.tmp.$$"
trap 'rm -f "$tmp"' EXIT

BERTH_CDS_DUMP="$tmp" "$home/bin/berth"
if [[ ! -s "$tmp" ]]; then
  echo "Error: the training run did not write $tmp" >&2
  exit 1
fi
# Atomic replace: a concurrent berth call sees the old archive or the new one, never half of one.
mv -f "$tmp" "$jsa"
echo "wrote $jsa ($(du -h "$jsa" | cut -f1))"
