#!/usr/bin/env bash
# Two independent Kubernetes control planes on 127.0.0.1, one per region of Pulumi.e2e.yaml, from the tools
# engine/build.sh built: etcd, kube-apiserver, kube-controller-manager, kube-scheduler, and kwok, which plays
# the kubelet on fake nodes (pods become Running and Ready with an IP; no container runs).
#
#   engine/cluster.sh up           start both, wait until they serve, leave them running; prints the env to use
#   engine/cluster.sh down         stop everything `up` started, by the pids it recorded
#   engine/cluster.sh run CMD...   up, run CMD with KUBECONFIG set, then down, whatever CMD's outcome
#   engine/cluster.sh check        in each region: a Deployment of 2 replicas on the sentinel nodes becomes
#                                  Available and its Service gets both endpoints; then they are deleted
#
# Each region has its own CA, certificates, etcd data folder and ports. The kubeconfig (one context per
# region, named as the region's kubeContext in Pulumi.e2e.yaml) is $ENGINE_CLUSTER_DIR/kubeconfig.
# Nodes: three per region, one per zone (<region>a, b, c), labelled and tainted as the sentinel nodes
# (the stack's nodeClass); the CiliumNetworkPolicy CRD is our minimal stand-in (engine/manifests/).
#
# Environment: ENGINE_STACK_FILE (the stack file whose regions to serve, default Pulumi.e2e.yaml),
# ENGINE_DIR (default .engine), ENGINE_CLUSTER_DIR (default $ENGINE_DIR/clusters),
# ENGINE_CLUSTER_PORT_BASE (default 31000: region i uses base+10i .. base+10i+5), ENGINE_CLUSTER_TIMEOUT
# (seconds each wait may take, default 90), ENGINE_CLUSTER_NODE_PODS (pods each fake node holds, default 250:
# bench:engine's 200 environments put 200 pods in a region, and an image change surges one more each).
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$src")"
engine="${ENGINE_DIR:-$root/.engine}"
dir="${ENGINE_CLUSTER_DIR:-$engine/clusters}"
bin="$engine/bin"
port_base="${ENGINE_CLUSTER_PORT_BASE:-31000}"
timeout="${ENGINE_CLUSTER_TIMEOUT:-90}"
node_pods="${ENGINE_CLUSTER_NODE_PODS:-250}"
kubeconfig="$dir/kubeconfig"
# The stack whose regions, contexts and nodeClass the clusters serve (ENGINE_STACK_FILE).
stack_file="${ENGINE_STACK_FILE:-$root/Pulumi.e2e.yaml}"

log() { printf '%s engine/cluster.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Region names, kube contexts and the sentinel nodes' taint/label, from the end-to-end stack's configuration.
# Prints lines "region NAME CONTEXT" and one "nodeClass KEY VALUE".
read_stack() {
  node -e '
    const yaml = require(require.resolve("yaml", { paths: [process.argv[1]] }));
    const c = yaml.parse(require("fs").readFileSync(process.argv[2], "utf8")).config;
    for (const r of c["sentinel-fleet:regions"]) console.log("region", r.name, r.kubeContext);
    const n = c["sentinel-fleet:nodeClass"] ?? { key: "node-class", value: "sentinel" };
    console.log("nodeClass", n.key, n.value);
  ' "$root" "$stack_file"
}

regions=()
contexts=()
node_class_key=""
node_class_value=""
load_stack() {
  local kind a b
  while read -r kind a b; do
    case "$kind" in
      region)
        regions+=("$a")
        contexts+=("$b")
        ;;
      nodeClass)
        node_class_key="$a"
        node_class_value="$b"
        ;;
    esac
  done < <(read_stack)
  [ "${#regions[@]}" -gt 0 ] || die "no regions in $stack_file"
}

# --- processes -----------------------------------------------------------------------------------------------

# Starts NAME (a binary in .engine/bin) for region folder RDIR, output to RDIR/NAME.log; records its pid.
start() { # RDIR NAME ARGS...
  local rdir="$1" name="$2"
  shift 2
  "$bin/$name" "$@" </dev/null >"$rdir/$name.log" 2>&1 &
  printf '%s %s\n' "$!" "$bin/$name" >>"$dir/pids"
  printf '%s\n' "$!" >"$rdir/$name.pid"
}

# True while PID is alive and still runs BINARY (so a recycled pid is never signalled).
ours() { # PID BINARY
  [ -r "/proc/$1/cmdline" ] && [ "$({ tr '\0' '\n' <"/proc/$1/cmdline"; } 2>/dev/null | head -n1)" = "$2" ]
}

# Stops the processes recorded in the pids file whose binary is one of NAMES (all when none are named):
# SIGTERM, then SIGKILL to any still there after 10 seconds.
stop_layer() { # NAMES...
  local pid binary i alive
  local -a pids=()
  while read -r pid binary; do
    if [ "$#" -eq 0 ] || [[ " $* " == *" ${binary##*/} "* ]]; then
      if ours "$pid" "$binary"; then pids+=("$pid $binary"); fi
    fi
  done <"$dir/pids"
  [ "${#pids[@]}" -gt 0 ] || return 0
  for i in "${pids[@]}"; do kill -TERM "${i%% *}" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for i in "${pids[@]}"; do if ours "${i%% *}" "${i#* }"; then alive=1; fi; done
    [ "$alive" = 1 ] || return 0
    sleep 0.2
  done
  log "still running 10s after SIGTERM, sending SIGKILL: ${pids[*]}"
  for i in "${pids[@]}"; do if ours "${i%% *}" "${i#* }"; then kill -KILL "${i%% *}" 2>/dev/null || true; fi; done
}

# Clients first, then the API servers, etcd last: an API server whose etcd is gone is slow to stop.
stop_all() {
  [ -f "$dir/pids" ] || return 0
  stop_layer kwok kube-scheduler kube-controller-manager
  stop_layer kube-apiserver
  stop_layer
  rm -f "$dir/pids"
  log "stopped"
}

# Polls CMD every half second until it succeeds, for at most $timeout seconds. Fails early, with the end of
# its log, when the process behind it (RDIR/NAME.pid) has exited.
wait_for() { # WHAT RDIR NAME CMD...
  local what="$1" rdir="$2" name="$3" deadline
  shift 3
  deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$(cat "$rdir/$name.pid")" 2>/dev/null; then
      tail -n 30 "$rdir/$name.log" >&2 || true
      die "$name exited while waiting for $what (log: $rdir/$name.log)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      tail -n 30 "$rdir/$name.log" >&2 || true
      die "timed out after ${timeout}s waiting for $what (log: $rdir/$name.log)"
    fi
    sleep 0.5
  done
}

port_free() { ! (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# --- certificates ---------------------------------------------------------------------------------------------

# A CA per region, a serving certificate for the API server, client certificates per component, and the
# service-account signing key. EC P-256 keys: quick to make.
make_pki() { # RDIR
  local pki="$1/pki" name subject
  mkdir -p "$pki"
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/ca.key" 2>/dev/null
  openssl req -x509 -new -key "$pki/ca.key" -subj "/CN=sentinel-fleet-engine-ca" -days 30 \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$pki/ca.crt" 2>/dev/null
  issue "$pki" apiserver "/CN=kube-apiserver" serverAuth \
    "subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc"
  for name in admin controller-manager scheduler kwok; do
    case "$name" in
      admin | kwok) subject="/O=system:masters/CN=sentinel-fleet-$name" ;;
      controller-manager) subject="/CN=system:kube-controller-manager" ;;
      scheduler) subject="/CN=system:kube-scheduler" ;;
    esac
    issue "$pki" "$name" "$subject" clientAuth
  done
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/sa.key" 2>/dev/null
  openssl ec -in "$pki/sa.key" -pubout -out "$pki/sa.pub" 2>/dev/null
}

issue() { # PKI NAME SUBJECT EKU [EXTRA_EXT]
  local pki="$1" name="$2" ext=(-addext "extendedKeyUsage=$4" -addext "keyUsage=critical,digitalSignature")
  [ -z "${5:-}" ] || ext+=(-addext "$5")
  openssl ecparam -name prime256v1 -genkey -noout -out "$pki/$name.key" 2>/dev/null
  openssl req -new -key "$pki/$name.key" -subj "$3" "${ext[@]}" -out "$pki/$name.csr" 2>/dev/null
  openssl x509 -req -in "$pki/$name.csr" -CA "$pki/ca.crt" -CAkey "$pki/ca.key" -CAcreateserial -days 30 \
    -copy_extensions copyall -out "$pki/$name.crt" 2>/dev/null
  rm -f "$pki/$name.csr"
}

# A kubeconfig for one client identity of one region.
write_kubeconfig() { # FILE PKI PORT NAME CONTEXT
  cat >"$1" <<EOF
apiVersion: v1
kind: Config
clusters:
  - name: $5
    cluster:
      server: https://127.0.0.1:$3
      certificate-authority: $2/ca.crt
users:
  - name: $5
    user:
      client-certificate: $2/$4.crt
      client-key: $2/$4.key
contexts:
  - name: $5
    context: { cluster: $5, user: $5 }
current-context: $5
EOF
}

# --- one region -------------------------------------------------------------------------------------------------

up_region() { # INDEX
  local i="$1" region="${regions[$1]}" context="${contexts[$1]}"
  local rdir="$dir/$region" base=$((port_base + 10 * $1))
  local etcd_port=$base etcd_peer=$((base + 1)) api_port=$((base + 2)) kcm_port=$((base + 3))
  local sched_port=$((base + 4)) kwok_port=$((base + 5))
  log "$region: etcd :$etcd_port, kube-apiserver :$api_port, context $context"
  rm -rf "$rdir"
  mkdir -p "$rdir"
  make_pki "$rdir"
  local pki="$rdir/pki" c
  for c in admin controller-manager scheduler kwok; do
    write_kubeconfig "$rdir/$c.kubeconfig" "$pki" "$api_port" "$c" "$context"
  done

  start "$rdir" etcd --name "$region" --data-dir "$rdir/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "$region=http://127.0.0.1:$etcd_peer" --initial-cluster-state new \
    --unsafe-no-fsync --log-level warn
  wait_for "etcd of $region" "$rdir" etcd curl -fsS --max-time 2 "http://127.0.0.1:$etcd_port/health"

  # No kubelet and no kube-proxy: the `kubernetes` Service's endpoints stay unmanaged (a loopback address
  # may not be an endpoint), and nothing dials a ClusterIP or pod IP.
  start "$rdir" kube-apiserver --etcd-servers "http://127.0.0.1:$etcd_port" \
    --bind-address 127.0.0.1 --advertise-address 127.0.0.1 --secure-port "$api_port" \
    --endpoint-reconciler-type none \
    --tls-cert-file "$pki/apiserver.crt" --tls-private-key-file "$pki/apiserver.key" \
    --client-ca-file "$pki/ca.crt" --authorization-mode RBAC \
    --service-account-issuer https://kubernetes.default.svc.cluster.local \
    --service-account-key-file "$pki/sa.pub" --service-account-signing-key-file "$pki/sa.key" \
    --service-cluster-ip-range 10.96.0.0/16 --profiling=false
  wait_for "kube-apiserver of $region" "$rdir" kube-apiserver \
    curl -fsS --max-time 2 --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" \
    "https://127.0.0.1:$api_port/readyz"

  start "$rdir" kube-controller-manager --kubeconfig "$rdir/controller-manager.kubeconfig" \
    --authentication-kubeconfig "$rdir/controller-manager.kubeconfig" \
    --authorization-kubeconfig "$rdir/controller-manager.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$kcm_port" --leader-elect=false \
    --use-service-account-credentials --service-account-private-key-file "$pki/sa.key" \
    --root-ca-file "$pki/ca.crt" --cluster-signing-cert-file "$pki/ca.crt" --cluster-signing-key-file "$pki/ca.key" \
    --profiling=false
  start "$rdir" kube-scheduler --kubeconfig "$rdir/scheduler.kubeconfig" \
    --authentication-kubeconfig "$rdir/scheduler.kubeconfig" --authorization-kubeconfig "$rdir/scheduler.kubeconfig" \
    --bind-address 127.0.0.1 --secure-port "$sched_port" --leader-elect=false --profiling=false
  # Pod IPs come from a private range that nothing here routes to: they only fill Endpoints.
  start "$rdir" kwok --kubeconfig "$rdir/kwok.kubeconfig" --config "$src/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector kwok.x-k8s.io/node=fake \
    --cidr "10.$((244 + i)).0.0/16" --node-ip "10.$((244 + i)).255.1" --node-lease-duration-seconds 40 \
    --server-address "127.0.0.1:$kwok_port"
  wait_for "kube-controller-manager of $region" "$rdir" kube-controller-manager \
    curl -fsSk --max-time 2 "https://127.0.0.1:$kcm_port/healthz"
  wait_for "kube-scheduler of $region" "$rdir" kube-scheduler \
    curl -fsSk --max-time 2 "https://127.0.0.1:$sched_port/healthz"
  wait_for "kwok of $region" "$rdir" kwok curl -fsS --max-time 2 "http://127.0.0.1:$kwok_port/healthz"

  local k=("$bin/kubectl" --kubeconfig "$rdir/admin.kubeconfig")
  "${k[@]}" apply -f "$src/manifests/ciliumnetworkpolicy-crd.yaml" >/dev/null
  local zone n=0
  for zone in a b c; do
    n=$((n + 1))
    nodes_manifest "$region" "$region$zone" "$n" | "${k[@]}" apply -f - >/dev/null
  done
  "${k[@]}" wait --for condition=Established --timeout "${timeout}s" crd/ciliumnetworkpolicies.cilium.io >/dev/null
  "${k[@]}" wait --for condition=Ready --timeout "${timeout}s" node --selector type=kwok >/dev/null
  # Pods cannot be admitted before the controller-manager has made the namespace's default ServiceAccount.
  wait_for "the default ServiceAccount in $region" "$rdir" kube-controller-manager \
    "${k[@]}" get serviceaccount default --namespace default
  log "$region: ready"
}

# A fake node kwok manages, carrying the sentinel nodes' label and taint, in ZONE.
nodes_manifest() { # REGION ZONE N
  cat <<EOF
apiVersion: v1
kind: Node
metadata:
  name: $2-sentinel-$3
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    type: kwok
    kubernetes.io/hostname: $2-sentinel-$3
    kubernetes.io/os: linux
    kubernetes.io/arch: amd64
    topology.kubernetes.io/region: $1
    topology.kubernetes.io/zone: $2
    $node_class_key: $node_class_value
spec:
  taints:
    - key: $node_class_key
      value: $node_class_value
      effect: NoSchedule
status:
  allocatable: { cpu: "32", memory: 128Gi, pods: "$node_pods" }
  capacity: { cpu: "32", memory: 128Gi, pods: "$node_pods" }
EOF
}

merge_kubeconfigs() {
  local files=() r
  for r in "${regions[@]}"; do files+=("$dir/$r/admin.kubeconfig"); done
  KUBECONFIG="$(
    IFS=:
    printf '%s' "${files[*]}"
  )" "$bin/kubectl" config view --flatten >"$kubeconfig.tmp"
  mv -f "$kubeconfig.tmp" "$kubeconfig"
}

print_env() {
  printf 'export KUBECONFIG=%q\n' "$kubeconfig"
}

up() {
  local t
  for t in etcd kube-apiserver kube-controller-manager kube-scheduler kwok kubectl; do
    [ -x "$bin/$t" ] || die "$bin/$t is missing: run engine/build.sh"
  done
  command -v openssl >/dev/null || die "openssl is needed (Debian package openssl)"
  load_stack
  mkdir -p "$dir"
  if [ -f "$dir/pids" ]; then
    log "stopping what an earlier run left"
    stop_all
  fi
  # Stops everything this run started if it fails or is interrupted before both regions are up.
  trap 'stop_all' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  local started=$SECONDS i p
  for p in $(seq "$port_base" $((port_base + 10 * ${#regions[@]} - 1))); do
    port_free "$p" || die "port $p on 127.0.0.1 is in use (ENGINE_CLUSTER_PORT_BASE moves the ports)"
  done
  for i in "${!regions[@]}"; do up_region "$i"; done
  merge_kubeconfigs
  trap - EXIT INT TERM
  log "up in $((SECONDS - started))s: ${regions[*]}; stop with engine/cluster.sh down"
  print_env
}

check_region() { # CONTEXT
  local k=("$bin/kubectl" --kubeconfig "$kubeconfig" --context "$1") ns="engine-check-$$" n
  "${k[@]}" create namespace "$ns" >/dev/null
  # shellcheck disable=SC2064 # the namespace is fixed now
  trap "'$bin/kubectl' --kubeconfig '$kubeconfig' --context '$1' delete namespace '$ns' --wait=false >/dev/null 2>&1 || true" RETURN
  check_manifest "$ns" | "${k[@]}" apply -f - >/dev/null
  "${k[@]}" --namespace "$ns" wait --for condition=Available --timeout "${timeout}s" deployment/check >/dev/null ||
    die "$1: Deployment check did not become Available: $("${k[@]}" --namespace "$ns" get pods -o wide 2>&1)"
  local deadline=$((SECONDS + timeout))
  until n="$("${k[@]}" --namespace "$ns" get endpoints check \
    -o jsonpath='{.subsets[*].addresses[*].ip}' 2>/dev/null)" &&
    [ "$(wc -w <<<"$n")" = 2 ]; do
    [ "$SECONDS" -lt "$deadline" ] || die "$1: Service check has endpoints '$n', want 2 addresses"
    sleep 0.5
  done
  log "$1: Deployment Available with 2 ready replicas on $("${k[@]}" --namespace "$ns" get pods \
    -o jsonpath='{.items[*].spec.nodeName}'); Service endpoints $n"
}

check_manifest() { # NAMESPACE
  cat <<EOF
apiVersion: apps/v1
kind: Deployment
metadata: { name: check, namespace: $1 }
spec:
  replicas: 2
  selector: { matchLabels: { app: check } }
  template:
    metadata: { labels: { app: check } }
    spec:
      automountServiceAccountToken: false
      tolerations:
        - { key: $node_class_key, operator: Equal, value: $node_class_value, effect: NoSchedule }
      affinity:
        nodeAffinity:
          requiredDuringSchedulingIgnoredDuringExecution:
            nodeSelectorTerms:
              - matchExpressions: [{ key: $node_class_key, operator: In, values: [$node_class_value] }]
      containers:
        - name: check
          image: registry.invalid/check:v1
          ports: [{ name: http, containerPort: 8040 }]
---
apiVersion: v1
kind: Service
metadata: { name: check, namespace: $1 }
spec:
  selector: { app: check }
  ports: [{ name: http, port: 8040, targetPort: http }]
EOF
}

check() {
  [ -f "$kubeconfig" ] || die "no clusters: run engine/cluster.sh up"
  load_stack
  local c
  for c in "${contexts[@]}"; do check_region "$c"; done
}

run() {
  [ "$#" -gt 0 ] || die "usage: engine/cluster.sh run CMD [ARGS...]"
  up >/dev/null
  trap 'stop_all' EXIT
  # CMD runs in the background so that a signal to this script is handled at once: passed on to CMD, then
  # everything is stopped.
  local child=""
  trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null; exit 130' INT
  trap '[ -z "$child" ] || kill -TERM "$child" 2>/dev/null; exit 143' TERM
  KUBECONFIG="$kubeconfig" "$@" &
  child=$!
  wait "$child"
}

case "${1:-}" in
  up) up ;;
  down) stop_all ;;
  check) check ;;
  run)
    shift
    run "$@"
    ;;
  env) print_env ;;
  *) die "usage: engine/cluster.sh up|down|check|run CMD...|env" ;;
esac
