#!/usr/bin/env bash
# Builds the AppCDS archive of the berth CLI (cli/target/berth-cli.jsa), which bin/berth uses
# when it is newer than the jars. Run it after each `mvn -pl cli,build-tools -am install`; no daemon
# is needed: the training run (dev.berth.tools.cli.CliTraining, in the build-only
# build-tools/target/berth-build-tools.jar) renders help, fails a usage check, fails to
# connect to a missing socket (loading the gRPC/netty client) and renders table/JSON output,
# through bin/berth itself so the classpath and JVM flags are exactly those of real calls.
set -euo pipefail

home="$(readlink -f -- "${BASH_SOURCE[0]}")"
home="${home%/*/*}"
jsa="$home/cli/target/berth-cli.jsa"
tmp="$jsa.tmp.$$"
trap 'rm -f "$tmp"' EXIT
export BERTH_TRAINING_JAR="$home/build-tools/target/berth-build-tools.jar"
if [[ ! -f "$BERTH_TRAINING_JAR" ]]; then
  echo "Error: $BERTH_TRAINING_JAR is missing: build it with 'mvn -pl build-tools -am install'" >&2
  exit 1
fi

BERTH_CDS_DUMP="$tmp" "$home/bin/berth"
if [[ ! -s "$tmp" ]]; then
  echo "Error: the training run did not write $tmp" >&2
  exit 1
fi
# Atomic replace: a concurrent berth call sees the old archive or the new one, never half of one.
mv -f "$tmp" "$jsa"
echo "wrote $jsa ($(du -h "$jsa" | cut -f1))"

# The JDK 25 AOT cache (faster than AppCDS: classes come loaded and linked, with method profiles),
# when such a JDK is installed; bin/berth then runs on it. Optional: without it, AppCDS on JDK 17.
jdk25=""
for j in "${BERTH_JDK25:-}" /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/temurin-25*; do
  [[ -n "$j" && -x "$j/bin/java" ]] || continue
  v="$("$j/bin/java" -version 2>&1 | awk -F'"' '/version/ { split($2, a, "."); print a[1]; exit }')"
  [[ "$v" =~ ^[0-9]+$ ]] && (( v >= 25 )) && { jdk25="$j"; break; }
done
aot="$home/cli/target/berth-cli.aot"
if [[ -z "$jdk25" ]]; then
  rm -f "$aot" "$aot.java"
  echo "no JDK >= 25: the CLI runs with AppCDS only"
  exit 0
fi
atmp="$aot.tmp.$$"
trap 'rm -f "$tmp" "$atmp" "$atmp.config"' EXIT
BERTH_AOT_JAVA="$jdk25/bin/java" BERTH_AOT_DUMP="$atmp" "$home/bin/berth" || true
if [[ ! -s "$atmp" ]]; then
  echo "warning: the AOT training run did not write $atmp; the CLI runs with AppCDS" >&2
  rm -f "$aot" "$aot.java"
  exit 0
fi
printf '%s\n' "$jdk25/bin/java" >"$aot.java.tmp" && mv -f "$aot.java.tmp" "$aot.java"
mv -f "$atmp" "$aot"
echo "wrote $aot ($(du -h "$aot" | cut -f1)) for $jdk25"
