#!/usr/bin/env bash
# The whole suite: ops/setup.sh, ops/lint-protos.sh (buf lint + protoc of the public protos), then
# `mvn -B verify` (unit tests in every module and the
# cross-process integration tests in src/test, which start real berthd/shims/runc and need root).
# Exits non-zero on any failure. Extra arguments go to maven (e.g. -Dit.test=RunIT).
set -euo pipefail

BERTH_HOME="$(cd -- "$(dirname -- "$(readlink -f -- "${BASH_SOURCE[0]}")")/.." && pwd -P)"
cd "$BERTH_HOME"

"$BERTH_HOME/ops/setup.sh"
"$BERTH_HOME/ops/lint-protos.sh"
echo "test: mvn -B verify $*"
exec mvn -B verify "$@"
