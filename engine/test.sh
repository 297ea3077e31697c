#!/usr/bin/env bash
# The engine tier (`npm run test:engine`): builds the tools (engine/build.sh: seconds when Go's caches and .engine/
# are warm), starts one control plane per region of Pulumi.engine.yaml (engine/cluster.sh), runs engine/test/
# with mocha against them, and stops every process it started, by pid, whatever the outcome.
#
# Arguments go to mocha (e.g. --grep). ENGINE_KEEP=1 keeps the tests' temporary folder (state, logs).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
engine/build.sh
export ENGINE_STACK_FILE="$root/Pulumi.engine.yaml"
started=$SECONDS
status=0
engine/cluster.sh run node_modules/.bin/mocha --config engine/.mocharc.json "$@" || status=$?
echo "engine tier: $((SECONDS - started))s with the clusters up, exit $status" >&2
exit "$status"
