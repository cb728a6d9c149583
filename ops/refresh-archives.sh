#!/usr/bin/env bash
# Regenerates the class-data archives of the shim, the CLI and berthd (ops/{shim,cli,daemon}-cds.sh)
# when their jars are newer than the last archive. Any `mvn package` rewrites the jars, and a JVM
# silently ignores an archive older than its jars (every start then gets about twice as slow), so
# this runs at the end of ops/setup.sh and again right before the integration tests (src/test's
# pre-integration-test phase), after `mvn verify` has repackaged everything.
set -euo pipefail
BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd -P)"
cd "$BERTH_HOME"
say() { printf 'setup: %s\n' "$*"; }
mkdir -p build/setup
for cds in shim cli daemon; do
  script="ops/$cds-cds.sh"
  cds_stamp="build/setup/$cds-cds.stamp"
  if [[ ! -x "$script" ]]; then
    say "cds: $script not present, skipped"
    continue
  fi
  # Regenerate when the jars (the build stamp) or the script are newer than the last archive.
  # (any mvn package rewrites the jars, and the JVM rejects an archive older than its jars).
  stale_jar="$(find "$cds/target" -maxdepth 2 -name '*.jar' -newer "$cds_stamp" -print -quit 2>/dev/null || true)"
  # The launcher too: its JVM flags must be those the archive was trained with.
  case "$cds" in shim) launcher=bin/berth-shim ;; cli) launcher=bin/berth ;; *) launcher=bin/berthd ;; esac
  if [[ ! -f "$cds_stamp" || "$script" -nt "$cds_stamp" || "$launcher" -nt "$cds_stamp" || -n "$stale_jar" ]]; then
    say "cds: $script"
    if "$script" >"build/setup/$cds-cds.log" 2>&1; then
      touch "$cds_stamp"
    else
      say "cds: $script failed (see build/setup/$cds-cds.log); continuing without the archive"
    fi
  else
    say "cds: $cds archive up to date"
  fi
done
