#!/usr/bin/env bash
# The end-to-end test on a real Pulumi engine (README.md, "End-to-end test"): two kind clusters stand in for
# two regions, a MySQL 8.0 server for the platform database, a receiver on loopback for the routers' prewarm
# endpoint; then, on the e2e stack (Pulumi.e2e.yaml): preview, up, preview --expect-no-changes, an image
# change, a refresh after a row is deleted out of band, destroy. tests/e2e/check.ts asserts after each step.
# .github/workflows/e2e.yml runs this script; a developer with the prerequisites runs it the same way.
#
# Usage: scripts/e2e.sh [run|check]     run (default): the whole test; check: the prerequisite check only.
# Exit codes: 0 passed, 1 a step or an assertion failed, 2 usage, 3 prerequisites missing (nothing started).
#
# Environment (all optional):
#   E2E_MYSQL_HOST, E2E_MYSQL_PORT  use this MySQL 8.0 server (root without a password, as a fresh container
#                                   with MYSQL_ALLOW_EMPTY_PASSWORD starts) instead of starting a container;
#                                   the port also moves the container's published port (default 3306)
#   E2E_RECEIVER_PORT               the prewarm receiver's port on 127.0.0.1 (default 18040)
#   E2E_KEEP=1                      keep the clusters, MySQL and the work directory after the run
set -euo pipefail

readonly EXIT_FAILED=1
readonly EXIT_USAGE=2
readonly EXIT_MISSING=3

# Pinned versions. The workflow installs the same kind and kubectl; these are what the script itself pulls.
readonly KIND_NODE_IMAGE="kindest/node:v1.33.1@sha256:050072256b9a903bd914c0b2866828150cb229cea0efe5892e2b644d5dd3b34f"
readonly MYSQL_IMAGE="mysql:8.0.43"
readonly STAND_IN_IMAGE="sentinel-fleet-e2e"

# What Pulumi.e2e.yaml names (tests/e2e.test.ts checks they agree): the stack, its regions, whose clusters
# are kind-<CLUSTER_PREFIX>-<region> contexts, and its database.
readonly STACK="e2e"
readonly REGIONS=(us-east-1 eu-central-1)
readonly CLUSTER_PREFIX="sentinel-e2e"
readonly DATABASE="unkey"
readonly RECEIVER_PORT="${E2E_RECEIVER_PORT:-18040}"
readonly MYSQL_PORT="${E2E_MYSQL_PORT:-3306}"

# Only bash builtins until the prerequisites are known: the check must work on a PATH that has nothing.
script_dir="${BASH_SOURCE[0]%/*}"
[ "$script_dir" = "${BASH_SOURCE[0]}" ] && script_dir="."
ROOT="$(cd "$script_dir/.." && pwd)"
readonly ROOT

log() { printf '\n==> [%s] %s\n' "${SECONDS}s" "$*"; }
fail() {
  printf 'e2e.sh: %s\n' "$*" >&2
  exit "$EXIT_FAILED"
}

# A command with a deadline where coreutils' timeout exists (Linux; macOS without coreutils runs unbounded).
bounded() {
  local seconds="$1"
  shift
  if command -v timeout >/dev/null 2>&1; then timeout --kill-after=30 "$seconds" "$@"; else "$@"; fi
}

hint() {
  case "$1" in
    docker) echo "Docker Engine with a running daemon: https://docs.docker.com/engine/install/" ;;
    docker-daemon) echo "docker is installed but 'docker info' failed: start the daemon, or check access to its socket" ;;
    kind) echo "kind v0.29.0: https://kind.sigs.k8s.io/docs/user/quick-start/#installation" ;;
    kubectl) echo "kubectl v1.33: https://kubernetes.io/docs/tasks/tools/" ;;
    pulumi) echo "Pulumi CLI 3.276.0 (as CI): https://www.pulumi.com/docs/iac/download-install/" ;;
    mysql) echo "a MySQL client (mysql-client, or mariadb-client's mysql)" ;;
    node) echo "Node.js 22 or later (CI runs 24): https://nodejs.org/" ;;
    node_modules) echo "the project's dependencies: npm ci" ;;
    policy/node_modules) echo "the policy pack's dependencies: npm ci --prefix policy" ;;
    *) echo "?" ;;
  esac
}

check_prerequisites() {
  local -a missing=()
  local tool
  for tool in docker kind kubectl pulumi mysql node; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if command -v docker >/dev/null 2>&1 && ! bounded 30 docker info >/dev/null 2>&1; then missing+=("docker-daemon"); fi
  [ -d "$ROOT/node_modules" ] || missing+=("node_modules")
  [ -d "$ROOT/policy/node_modules" ] || missing+=("policy/node_modules")
  if [ "${#missing[@]}" -gt 0 ]; then
    {
      printf 'e2e.sh: missing prerequisites: %s\n' "${missing[*]}"
      for tool in "${missing[@]}"; do printf '  %-20s %s\n' "$tool" "$(hint "$tool")"; done
      printf 'Nothing was started. See README.md, "End-to-end test".\n'
    } >&2
    exit "$EXIT_MISSING"
  fi
}

mode="${1:-run}"
case "$mode" in
  run | check) ;;
  *)
    printf 'usage: %s [run|check]\n' "$0" >&2
    exit "$EXIT_USAGE"
    ;;
esac
check_prerequisites
if [ "$mode" = check ]; then
  echo "e2e.sh: all prerequisites found"
  exit 0
fi
cd "$ROOT"

cluster_of() { printf '%s-%s' "$CLUSTER_PREFIX" "$1"; }
context_of() { printf 'kind-%s' "$(cluster_of "$1")"; }
# 24 random bytes, URL- and DSN-safe; never printed.
random_secret() { node -e 'process.stdout.write(require("crypto").randomBytes(24).toString("base64url"))'; }

work="$(mktemp -d "${TMPDIR:-/tmp}/sentinel-fleet-e2e.XXXXXX")"
readonly work
mysql_container=""
receiver_pid=""
clusters_created=()
cp Pulumi.e2e.yaml "$work/Pulumi.e2e.yaml.orig"

diagnostics() {
  local region context
  echo "---- diagnostics (the run failed) ----"
  for region in "${clusters_created[@]}"; do
    context="$(context_of "$region")"
    echo "-- $region ($context)"
    kubectl --context "$context" --request-timeout=20s get nodes -o wide
    kubectl --context "$context" --request-timeout=20s -n sentinel get deployments,replicasets,pods,services,endpointslices,poddisruptionbudgets -o wide
    kubectl --context "$context" --request-timeout=20s -n sentinel get events --sort-by=.lastTimestamp | tail -n 40
    kubectl --context "$context" --request-timeout=20s -n sentinel logs -l app.kubernetes.io/component=sentinel --prefix --tail=20
  done
  echo "-- prewarm calls received"
  cat "$work/prewarm.jsonl" 2>/dev/null || echo "(none)"
}

cleanup() {
  local rc=$?
  set +e
  [ "$rc" -ne 0 ] && diagnostics
  [ -n "$receiver_pid" ] && kill "$receiver_pid" 2>/dev/null
  # pulumi stack init and config set wrote the run's salt and encrypted secrets into the stack file.
  cp "$work/Pulumi.e2e.yaml.orig" "$ROOT/Pulumi.e2e.yaml"
  if [ "${E2E_KEEP:-0}" = 1 ]; then
    echo "E2E_KEEP=1: kept clusters ${clusters_created[*]/#/$CLUSTER_PREFIX-}, MySQL ${mysql_container:-(external)}, work dir $work"
  else
    local region
    for region in "${clusters_created[@]}"; do kind delete cluster --name "$(cluster_of "$region")" >/dev/null 2>&1; done
    [ -n "$mysql_container" ] && docker rm -f "$mysql_container" >/dev/null 2>&1
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT

# ---- the stand-in image ----
log "building the stand-in image $STAND_IN_IMAGE:v1 and :v2 (tests/e2e/image/Dockerfile)"
bounded 300 docker build --quiet -t "$STAND_IN_IMAGE:v1" -t "$STAND_IN_IMAGE:v2" tests/e2e/image

# ---- two kind clusters, created in parallel ----
log "creating kind clusters for ${REGIONS[*]} ($KIND_NODE_IMAGE)"
for region in "${REGIONS[@]}"; do
  if kind get clusters 2>/dev/null | grep -x "$(cluster_of "$region")" >/dev/null; then
    fail "kind cluster $(cluster_of "$region") already exists (a kept run?): kind delete cluster --name $(cluster_of "$region")"
  fi
done
pids=()
for region in "${REGIONS[@]}"; do
  clusters_created+=("$region")
  bounded 420 kind create cluster --name "$(cluster_of "$region")" --image "$KIND_NODE_IMAGE" \
    --config tests/e2e/kind-cluster.yaml --kubeconfig "$work/kubeconfig-$region" --wait 180s \
    >"$work/kind-$region.log" 2>&1 &
  pids+=("$!")
done
for i in "${!REGIONS[@]}"; do
  if ! wait "${pids[$i]}"; then
    cat "$work/kind-${REGIONS[$i]}.log" >&2
    fail "kind create cluster $(cluster_of "${REGIONS[$i]}") failed"
  fi
done
# One kubeconfig for the run, never the developer's: the program's providers select their context in it.
kubeconfigs=()
for region in "${REGIONS[@]}"; do kubeconfigs+=("$work/kubeconfig-$region"); done
KUBECONFIG="$(
  IFS=:
  echo "${kubeconfigs[*]}"
)" kubectl config view --flatten >"$work/kubeconfig"
export KUBECONFIG="$work/kubeconfig"
for region in "${REGIONS[@]}"; do
  kubectl --context "$(context_of "$region")" wait --for=condition=Ready nodes --all --timeout=180s
  kind load docker-image "$STAND_IN_IMAGE:v1" "$STAND_IN_IMAGE:v2" --name "$(cluster_of "$region")"
  # A fresh cluster's controller manager creates the default ServiceAccount moments after the API server is up;
  # a pod created before it exists is rejected.
  deadline=$((SECONDS + 90))
  until kubectl --context "$(context_of "$region")" --request-timeout=10s -n default get serviceaccount default >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "$(cluster_of "$region"): no default ServiceAccount within 90 s"
    sleep 2
  done
  # A pod outside the sentinel namespace, standing where a router would: the checks fetch each row's
  # k8s_address from it. It lands on the plain worker (it tolerates no taint).
  kubectl --context "$(context_of "$region")" -n default run sentinel-e2e-client --image="$STAND_IN_IMAGE:v1" \
    --restart=Never --command -- sleep 3600
done

# ---- MySQL 8.0: schema and regions ----
if [ -n "${E2E_MYSQL_HOST:-}" ]; then
  mysql_host="$E2E_MYSQL_HOST"
  log "using the MySQL server at $mysql_host:$MYSQL_PORT"
else
  mysql_host="127.0.0.1"
  log "starting $MYSQL_IMAGE on 127.0.0.1:$MYSQL_PORT"
  mysql_container="sentinel-fleet-e2e-mysql-$$"
  docker run -d --name "$mysql_container" -e MYSQL_ALLOW_EMPTY_PASSWORD=yes \
    -p "127.0.0.1:$MYSQL_PORT:3306" "$MYSQL_IMAGE" >/dev/null
fi
db_password="$(random_secret)"
umask 077
printf '[client]\nhost=%s\nport=%s\nuser=root\npassword=\n' "$mysql_host" "$MYSQL_PORT" >"$work/root-empty.cnf"
printf '[client]\nhost=%s\nport=%s\nuser=root\npassword=%s\n' "$mysql_host" "$MYSQL_PORT" "$db_password" >"$work/admin.cnf"
umask 022
deadline=$((SECONDS + 180))
until mysql --defaults-extra-file="$work/root-empty.cnf" --connect-timeout=5 -e 'SELECT 1' >/dev/null 2>&1; do
  [ "$SECONDS" -lt "$deadline" ] || fail "MySQL at $mysql_host:$MYSQL_PORT did not accept root without a password within 180 s"
  sleep 3
done
# The root password is generated here, in the job, and reaches MySQL on stdin, never on a command line.
mysql --defaults-extra-file="$work/root-empty.cnf" <<SQL
ALTER USER 'root'@'%' IDENTIFIED BY '$db_password';
ALTER USER IF EXISTS 'root'@'localhost' IDENTIFIED BY '$db_password';
CREATE DATABASE $DATABASE;
SQL
mysql --defaults-extra-file="$work/admin.cnf" "$DATABASE" <db/schema.sql
export E2E_WORK="$work" E2E_MYSQL_DEFAULTS="$work/admin.cnf" E2E_STACK="$STACK"
check() { node -r ts-node/register/transpile-only tests/e2e/check.ts "$@"; }
check regions-sql | mysql --defaults-extra-file="$work/admin.cnf" "$DATABASE"
sql() { mysql --defaults-extra-file="$work/admin.cnf" --batch --skip-column-names "$DATABASE" -e "$1"; }

# ---- the prewarm receiver ----
log "starting the prewarm receiver on 127.0.0.1:$RECEIVER_PORT"
prewarm_token="$(random_secret)"
E2E_PREWARM_TOKEN="$prewarm_token" node -r ts-node/register/transpile-only tests/e2e/receiver.ts \
  "$RECEIVER_PORT" "$work/prewarm.jsonl" >"$work/receiver.log" 2>&1 &
receiver_pid=$!
deadline=$((SECONDS + 30))
until grep -q listening "$work/receiver.log" 2>/dev/null; do
  kill -0 "$receiver_pid" 2>/dev/null || {
    cat "$work/receiver.log" >&2
    fail "the prewarm receiver exited"
  }
  [ "$SECONDS" -lt "$deadline" ] || fail "the prewarm receiver did not start within 30 s"
  sleep 1
done

# ---- the stack: a local (file) backend in the work directory ----
# PULUMI_BACKEND_URL instead of `pulumi login --local`: the same self-managed file backend, but in a throwaway
# directory and without switching the developer's own login.
export PULUMI_BACKEND_URL="file://$work/state"
PULUMI_CONFIG_PASSPHRASE="$(random_secret)"
export PULUMI_CONFIG_PASSPHRASE
export PULUMI_SKIP_UPDATE_CHECK=true PULUMI_NODEJS_TRANSPILE_ONLY=true
mkdir -p "$work/state"
pulumi version
pulumi stack init "$STACK" --secrets-provider passphrase --non-interactive
# Secrets through stdin, so no value is on a command line; Pulumi stores them encrypted.
set_secret() { printf '%s' "$2" | pulumi config set --secret "sentinel-fleet:$1" --stack "$STACK" --non-interactive; }
set_secret databasePassword "$db_password"
set_secret clickhouseUrl "clickhouse://default:$(random_secret)@clickhouse.e2e.invalid:9000/unkey"
set_secret redisUrl "redis://:$(random_secret)@redis.e2e.invalid:6379"
set_secret prewarmToken "$prewarm_token"
pulumi config set --path "sentinel-fleet:prewarm.urlTemplate" \
  "http://127.0.0.1:$RECEIVER_PORT/prewarm/{region}/{k8sName}" --stack "$STACK" --non-interactive
# The program (its provider and health hook) must reach the server the script set up, not the file's default.
[ "$mysql_host" = 127.0.0.1 ] || pulumi config set --path "sentinel-fleet:database.host" "$mysql_host" --stack "$STACK" --non-interactive
[ "$MYSQL_PORT" = 3306 ] || pulumi config set --path "sentinel-fleet:database.port" "$MYSQL_PORT" --stack "$STACK" --non-interactive

p() { bounded 600 pulumi "$@" --stack "$STACK" --non-interactive --policy-pack policy; }
pulumi_plain() { bounded 600 pulumi "$@" --stack "$STACK" --non-interactive; }

log "1. pulumi preview"
p preview

log "2. pulumi up"
p up --yes --skip-preview
check up

log "3. pulumi preview --expect-no-changes"
p preview --expect-no-changes

log "4. an image change: $STAND_IN_IMAGE:v2"
pulumi_plain config set sentinel-fleet:image "$STAND_IN_IMAGE:v2"
p up --yes --skip-preview
check image

log "5. pulumi refresh after deleting a row out of band"
deleted_id="$(sql "SELECT id FROM sentinels WHERE environment_id = 'env_e2e_preview'")"
[ -n "$deleted_id" ] || fail "no row of env_e2e_preview to delete"
sql "DELETE FROM sentinels WHERE id = '$deleted_id'"
pulumi_plain refresh --yes --skip-preview
E2E_DELETED_ID="$deleted_id" check refresh
p up --yes --skip-preview
E2E_DELETED_ID="$deleted_id" check recreated

log "6. pulumi destroy"
pulumi_plain destroy --yes --skip-preview
check destroy
pulumi_plain stack rm --yes

log "end-to-end test passed in ${SECONDS}s"
