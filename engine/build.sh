#!/usr/bin/env bash
# Builds the engine tier's tools from the Go module proxy into .engine/ at the repository root (git-ignored).
#
#   engine/build.sh          build each tool whose binary is missing or whose pinned inputs changed, install the
#                            Kubernetes plugin into .engine/pulumi-home, write .engine/env.sh
#   engine/build.sh pin      after editing engine/versions.env: carry its versions into the go.mod and go.sum of
#                            each module under engine/ and refresh engine/kwok-stages.yaml (needs the proxy)
#   engine/build.sh check    only check that go.mod files, kwok-stages.yaml and versions.env agree
#
# ENGINE_DIR moves the output folder. Go's module and build caches are the usual ones (go env GOMODCACHE,
# GOCACHE), so a second run only checks stamps.
set -euo pipefail

src="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$src")"
out="${ENGINE_DIR:-$root/.engine}"
# shellcheck source=versions.env source-path=SCRIPTDIR
. "$src/versions.env"

# Modules come from the module proxy only: never straight from a VCS host, and no other Go toolchain is fetched.
GOPROXY="$(go env GOPROXY)"
GOPROXY="${GOPROXY%,direct}"
GOPROXY="${GOPROXY%|direct}"
export GOPROXY GOTOOLCHAIN=local
export GOFLAGS="-mod=readonly -buildvcs=false"

k8s_minor="${KUBERNETES_VERSION#*.}"
k8s_staging_version="v0.${k8s_minor}"
provider_module=github.com/pulumi/pulumi-kubernetes/provider/v4
kwok_stage_files=(
  kustomize/stage/node/fast/node-initialize.yaml
  kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml
  kustomize/stage/pod/fast/pod-ready.yaml
  kustomize/stage/pod/fast/pod-complete.yaml
  kustomize/stage/pod/fast/pod-delete.yaml
)

log() { printf '%s engine/build.sh: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() {
  log "error: $*"
  exit 1
}

# Runs the JavaScript CODE with the JSON document on stdin as j.
js() { node -e "const j = JSON.parse(require('fs').readFileSync(0, 'utf8')); $1"; }

# The folder of MODULE@VERSION in the module cache, downloaded from the proxy if missing.
module_dir() {
  local dir
  dir="$(go mod download -json "$1" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
  [ -n "$dir" ] || die "go mod download $1 gave no folder"
  printf '%s\n' "$dir"
}

# The version of MODULE that the module in folder DIR builds with.
required_version() { (cd "$1" && go list -m -f '{{.Version}}' "$2"); }

check_pin() { # DIR MODULE WANT
  local got
  got="$(required_version "$1" "$2")"
  [ "$got" = "$3" ] ||
    die "${1#"$root"/}/go.mod builds $2 $got but engine/versions.env pins $3: run engine/build.sh pin"
}

kwok_stages() { # the text of engine/kwok-stages.yaml, from the kwok module's own stage files
  local dir f
  dir="$(module_dir "sigs.k8s.io/kwok@v$KWOK_VERSION")"
  printf '%s\n' \
    "# kwok's default stages for nodes and pods, as kwokctl applies them: nodes become Ready and renew a lease," \
    "# pods become Running and Ready with an IP, complete and go away when deleted." \
    "# Copied by engine/build.sh pin from sigs.k8s.io/kwok v$KWOK_VERSION (Apache License 2.0," \
    "# Copyright The Kubernetes Authors), files:"
  for f in "${kwok_stage_files[@]}"; do printf '#   %s\n' "$f"; done
  for f in "${kwok_stage_files[@]}"; do
    printf -- '---\n'
    cat "$dir/$f"
  done
}

check_pins() {
  check_pin "$src/pulumi" github.com/pulumi/pulumi/pkg/v3 "v$PULUMI_VERSION"
  check_pin "$src/pulumi" github.com/pulumi/pulumi/sdk/v3 "v$PULUMI_VERSION"
  check_pin "$src/kubernetes-provider" "$provider_module" "$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
  check_pin "$src/kubernetes" k8s.io/kubernetes "v$KUBERNETES_VERSION"
  check_pin "$src/kubernetes" k8s.io/apiserver "$k8s_staging_version"
  check_pin "$src/etcd" go.etcd.io/etcd/server/v3 "v$ETCD_VERSION"
  check_pin "$src/kwok" sigs.k8s.io/kwok "v$KWOK_VERSION"
  cmp -s "$src/kwok-stages.yaml" <(kwok_stages) ||
    die "engine/kwok-stages.yaml differs from kwok v$KWOK_VERSION's stage files: run engine/build.sh pin"
}

# A dependency's replace directives do not apply to a module that requires it. Copy those that point at
# another module version; a replace by a folder of the dependency's own repository has to be pinned by hand.
copy_replaces() { # DIR MODULE@VERSION
  local gomod
  gomod="$(go mod download -json "$2" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  go mod edit -json "$gomod" |
    js 'for (const r of j.Replace ?? []) if (r.New.Version) console.log(r.Old.Path + "=" + r.New.Path + "@" + r.New.Version)' |
    while read -r r; do (cd "$1" && go mod edit -replace "$r"); done
}

pin() {
  export GOFLAGS="-mod=mod -buildvcs=false"
  log "pinning engine/pulumi to $PULUMI_VERSION"
  copy_replaces "$src/pulumi" "github.com/pulumi/pulumi/pkg/v3@v$PULUMI_VERSION"
  (cd "$src/pulumi" && go get -tool "github.com/pulumi/pulumi/pkg/v3/cmd/pulumi@v$PULUMI_VERSION" &&
    go get "github.com/pulumi/pulumi/sdk/v3@v$PULUMI_VERSION" && go mod tidy)

  # Its own go.mod replaces pulumi-kubernetes/sdk/v4 by a folder; the served sdk/v4 it requires is used.
  log "pinning engine/kubernetes-provider to $PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
  copy_replaces "$src/kubernetes-provider" "$provider_module@$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION"
  copy_provider_schema
  (cd "$src/kubernetes-provider" && go get "$provider_module@$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION" &&
    go mod tidy)

  # k8s.io/kubernetes requires each staging module k8s.io/X at v0.0.0 and replaces it by its folder
  # ./staging/src/k8s.io/X; each is published as a module of its own, at v0.<minor>.<patch>.
  log "pinning engine/kubernetes to $KUBERNETES_VERSION (staging modules at $k8s_staging_version)"
  local gomod
  gomod="$(go mod download -json "k8s.io/kubernetes@v$KUBERNETES_VERSION" | sed -n 's/^\t"GoMod": "\(.*\)",$/\1/p')"
  (cd "$src/kubernetes" && go mod edit -json | js 'for (const r of j.Replace ?? []) console.log(r.Old.Path)' |
    while read -r m; do go mod edit -dropreplace "$m"; done)
  {
    printf '\n%s\n' "// k8s.io/kubernetes requires each staging module at v0.0.0 and replaces it by a folder of its own" \
      "// repository; a dependency's replaces do not apply here, so each is pinned to its published release."
    printf 'replace (\n'
    # Only the staging modules it requires (not all of the sample-* ones it does not require are published).
    go mod edit -json "$gomod" | js 'const req = new Set(j.Require.map((r) => r.Path));
      for (const r of j.Replace) if (r.New.Path.startsWith("./staging/") && req.has(r.Old.Path)) console.log(r.Old.Path)' |
      while read -r m; do printf '\t%s => %s %s\n' "$m" "$m" "$k8s_staging_version"; done
    printf ')\n'
  } >>"$src/kubernetes/go.mod"
  copy_replaces "$src/kubernetes" "k8s.io/kubernetes@v$KUBERNETES_VERSION"
  (cd "$src/kubernetes" && go get -tool \
    "k8s.io/kubernetes/cmd/kube-apiserver@v$KUBERNETES_VERSION" \
    "k8s.io/kubernetes/cmd/kube-controller-manager@v$KUBERNETES_VERSION" \
    "k8s.io/kubernetes/cmd/kube-scheduler@v$KUBERNETES_VERSION" \
    "k8s.io/kubernetes/cmd/kubectl@v$KUBERNETES_VERSION" && go mod tidy)

  # etcd's own replaces point at folders of its repository holding the same release, which it also requires.
  log "pinning engine/etcd to $ETCD_VERSION"
  (cd "$src/etcd" && go get -tool "go.etcd.io/etcd/server/v3@v$ETCD_VERSION" && go mod tidy)

  log "pinning engine/kwok to $KWOK_VERSION"
  copy_replaces "$src/kwok" "sigs.k8s.io/kwok@v$KWOK_VERSION"
  (cd "$src/kwok" && go get -tool "sigs.k8s.io/kwok/cmd/kwok@v$KWOK_VERSION" && go mod tidy)
  kwok_stages >"$src/kwok-stages.yaml"

  export GOFLAGS="-mod=readonly -buildvcs=false"
  check_pins
  log "pinned; commit engine/"
}

# The upstream main embeds schema files that only its own build generates; the module carries the same schema.
copy_provider_schema() {
  local dir
  dir="$(module_dir "$provider_module@$PULUMI_KUBERNETES_PROVIDER_MODULE_VERSION")/cmd/pulumi-resource-kubernetes"
  install -m 0644 "$dir/schema.json" "$src/kubernetes-provider/schema-embed.json"
  install -m 0644 "$dir/terraform-mapping.json" "$src/kubernetes-provider/terraform-mapping-embed.json"
}

# Builds PACKAGE in module DIR into .engine/FILE unless the binary there was built from the same inputs (Go
# version, go.mod, go.sum, sources of ours, flags). Build times go to .engine/logs/build-times.tsv.
build() { # FILE DIR PACKAGE LDFLAGS
  local file="$out/$1" name="${1##*/}" dir="$2" pkg="$3" ldflags="-s -w $4" stamp started secs
  stamp="$(
    {
      go version
      printf '%s\n%s\n' "$pkg" "$ldflags"
      cat "$dir"/go.mod "$dir"/go.sum
      find "$dir" -maxdepth 1 \( -name '*.go' -o -name '*.json' \) | LC_ALL=C sort | xargs -r cat
    } | sha256sum | cut -d' ' -f1
  )"
  if [ -x "$file" ] && [ "$(cat "$out/stamps/$name" 2>/dev/null)" = "$stamp" ]; then
    log "$name: up to date"
    return
  fi
  log "$name: building $pkg"
  started="$(date +%s)"
  mkdir -p "${file%/*}"
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$file.tmp" "$pkg")
  mv -f "$file.tmp" "$file"
  printf '%s\n' "$stamp" >"$out/stamps/$name"
  secs=$(($(date +%s) - started))
  printf '%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$name" "$secs" "$(nproc)" >>"$out/logs/build-times.tsv"
  log "$name: built in ${secs}s"
}

# The version of @pulumi/kubernetes in package-lock.json: the plugin version the program asks the engine for.
kubernetes_sdk_version() {
  local version
  version="$(js 'console.log(j.packages["node_modules/@pulumi/kubernetes"]?.version ?? "")' <"$root/package-lock.json")"
  [[ "$version" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "no @pulumi/kubernetes version in package-lock.json"
  printf '%s\n' "$version"
}

# The program asks the engine for the Kubernetes plugin at its SDK's version; installing our build under
# that version from a file means the engine never downloads one. The binary stays off PATH, where the engine
# would take it as an ambient plugin.
install_kubernetes_plugin() { # SDK_VERSION
  local version="$1" home="$out/pulumi-home" binary="$out/provider/pulumi-resource-kubernetes" dest
  dest="$home/plugins/resource-kubernetes-v$version/pulumi-resource-kubernetes"
  if cmp -s "$dest" "$binary"; then
    log "kubernetes plugin $version: installed"
    return
  fi
  PULUMI_HOME="$home" PULUMI_SKIP_UPDATE_CHECK=true "$out/bin/pulumi" plugin install resource kubernetes \
    "$version" --file "$binary" --reinstall >&2
  cmp -s "$dest" "$binary" || die "pulumi plugin install did not put the plugin at $dest"
  log "kubernetes plugin $version: installed from ${binary#"$root"/}"
}

write_env() {
  cat >"$out/env.sh.tmp" <<EOF
# Written by engine/build.sh: source it to use the engine tier's tools.
export PATH="$out/bin:$root/node_modules/@pulumi/pulumi:\$PATH"
export PULUMI_HOME="$out/pulumi-home"
export PULUMI_SKIP_UPDATE_CHECK=true
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
EOF
  mv -f "$out/env.sh.tmp" "$out/env.sh"
}

main() {
  case "${1:-build}" in
    pin)
      pin
      return
      ;;
    check)
      check_pins
      return
      ;;
    build) ;;
    *) die "usage: engine/build.sh [build|pin|check]" ;;
  esac
  check_pins
  mkdir -p "$out/bin" "$out/stamps" "$out/logs"
  local k8s_ldflags="-X k8s.io/component-base/version.gitVersion=v$KUBERNETES_VERSION"
  k8s_ldflags+=" -X k8s.io/component-base/version.gitMajor=${KUBERNETES_VERSION%%.*}"
  k8s_ldflags+=" -X k8s.io/component-base/version.gitMinor=${k8s_minor%%.*}"
  k8s_ldflags+=" -X k8s.io/component-base/version.gitTreeState=clean"

  # Most valuable first: the CLI alone already runs the program on the real engine.
  build bin/pulumi "$src/pulumi" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi \
    "-X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v$PULUMI_VERSION"
  # The engine warns on every run when a plugin reports a version below the one it was asked for; build
  # metadata keeps the release its code is in the version it reports, and semver ignores it when comparing.
  local sdk_version
  sdk_version="$(kubernetes_sdk_version)"
  copy_provider_schema
  build provider/pulumi-resource-kubernetes "$src/kubernetes-provider" . \
    "-X $provider_module/pkg/version.Version=$sdk_version+release.$PULUMI_KUBERNETES_PROVIDER_RELEASE"
  install_kubernetes_plugin "$sdk_version"
  write_env
  build bin/etcd "$src/etcd" go.etcd.io/etcd/server/v3 ""
  build bin/kube-apiserver "$src/kubernetes" k8s.io/kubernetes/cmd/kube-apiserver "$k8s_ldflags"
  build bin/kube-controller-manager "$src/kubernetes" k8s.io/kubernetes/cmd/kube-controller-manager "$k8s_ldflags"
  build bin/kube-scheduler "$src/kubernetes" k8s.io/kubernetes/cmd/kube-scheduler "$k8s_ldflags"
  build bin/kubectl "$src/kubernetes" k8s.io/kubernetes/cmd/kubectl "$k8s_ldflags"
  build bin/kwok "$src/kwok" sigs.k8s.io/kwok/cmd/kwok ""
  log "done: source $out/env.sh"
}

main "$@"
