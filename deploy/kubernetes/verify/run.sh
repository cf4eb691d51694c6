#!/usr/bin/env bash
# Verify deploy/kubernetes against a real kube-apiserver (see README.md here).
#
#   bash deploy/kubernetes/verify/run.sh              everything
#   bash deploy/kubernetes/verify/run.sh --build-only build/cache the binaries, print kube's dir
#   bash deploy/kubernetes/verify/run.sh --no-go-test skip `go test ./...` of this module
#
# Steps: build helm from helm.sh/helm/v4 (cached), `go test ./...` of this
# module (static invariants, Dockerfile, the Helm chart against the
# kustomize manifests), build kube-apiserver and kubectl from
# k8s.io/kubernetes through the Go module proxy (cached), start etcd
# (Debian's etcd-server, not installed here) and kube-apiserver on free
# loopback ports, render every overlay with `kubectl kustomize` and the
# Helm chart with every value set of verify/helm, `kubectl apply
# --dry-run=server` each into a fresh namespace, and require deliberately
# broken manifests and value sets to be rejected. Then the traefik overlay
# for real, under Traefik v3.6's kubernetesIngress provider, with a rolling
# drain of local nodes (traefik-drain.test.mjs; Traefik built by
# test/lb/traefik-build.sh, cached).
# Everything started here is stopped by pid on exit, whatever the exit.
#
# Environment:
#   K8S_VERSION          k8s.io/kubernetes version to build (default below)
#   HELM_VERSION         helm.sh/helm/v4 version to build (default below)
#   SWITCHBOARD_K8S_CACHE  cache root (default ${XDG_CACHE_HOME:-$HOME/.cache}/switchboard-k8s)
#   ETCD                 etcd binary (default: etcd on PATH, else /usr/bin/etcd)
#   SWITCHBOARD_BIN      the switchboard binary for the Traefik drain (default bin/switchboard: make build)
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
HELM_VERSION=${HELM_VERSION:-v4.3.2}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../../.." && pwd)
kdir="$root/deploy/kubernetes"
cache_root=${SWITCHBOARD_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/switchboard-k8s}
cache="$cache_root/$K8S_VERSION"
bin="$cache/bin"
helm_cache="$cache_root/helm-$HELM_VERSION"
helm_bin="$helm_cache/bin/helm"
chart="$root/deploy/helm/switchboard"

build_only=0 go_test=1
for a in "$@"; do
  case $a in
    --build-only) build_only=1 ;;
    --no-go-test) go_test=0 ;;
    -h|--help) sed -n '2,23p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done

t0=$(date +%s)
log() { echo "k8s-verify: [$(( $(date +%s) - t0 ))s] $*"; }
die() { echo "k8s-verify: FAIL: $*" >&2; exit 1; }

# ---------------------------------------------------------------- cleanup
tmp="" pids=() starting=0 build_work=""
cleanup() {
  local rc=$? i
  trap - EXIT INT TERM HUP
  # Newest first: kube-apiserver, then the etcd it needs to shut down.
  for (( i=${#pids[@]}-1; i>=0; i-- )); do stop_pid "${pids[i]}"; done
  if [ -n "$build_work" ]; then rm -rf "$build_work"; fi
  if [ -n "$tmp" ] && [ -d "$tmp" ]; then
    if [ $rc -ne 0 ] && [ $starting -eq 1 ]; then
      for f in "$tmp"/etcd.log "$tmp"/apiserver.log; do
        [ -s "$f" ] && { echo "---- last lines of $(basename "$f"):" >&2; tail -n 25 "$f" >&2; }
      done
    fi
    rm -rf "$tmp"
  fi
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

# stop_pid PID: SIGTERM, up to 15 s for a clean exit, then SIGKILL.
stop_pid() {
  local pid=$1 i p keep=()
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "k8s-verify: pid $pid did not stop within 15 s of SIGTERM; killing it" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
  pids=("${keep[@]}")
}

# ---------------------------------------------------------------- build
# k8s.io/kubernetes is not meant to be a dependency: its go.mod requires its
# staging modules (k8s.io/api, k8s.io/client-go, ...) at v0.0.0 and replaces
# them with ./staging/src/..., which a module zip does not contain. A small
# generated module requires it and replaces each staging module by its
# published version (v1.X.Y -> v0.X.Y), read from the pinned go.mod.
# The toolchain is the machine's Go (GOTOOLCHAIN=local: never a download).
gox() { GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 go "$@"; }

# need_go MODULE GOMOD: die unless the machine's Go is at least the go
# line of GOMOD; prints that version.
need_go() {
  local want have
  want=$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$2")
  have=$(go env GOVERSION); have=${have#go}
  if [ "$(printf '%s\n%s\n' "$want" "$have" | sort -V | head -n1)" != "$want" ]; then
    die "$1 needs go $want, this is go $have: pin an older version"
  fi
  echo "$want"
}

# bg_build WORK CMD...: run CMD in WORK, logging to WORK/build.log, in the
# background so that a signal stops it at once (see cleanup); exec: the pid
# is the command's own, not a subshell's. Returns CMD's status.
bg_build() {
  local work=$1 ok=1; shift
  (cd "$work" && exec "$@") >"$work/build.log" 2>&1 &
  pids+=("$!")
  wait "$!" || ok=0
  pids=()
  [ $ok -eq 1 ]
}

# gomod_of MODULE@VERSION DIR: download it (in DIR), print its go.mod's path.
gomod_of() {
  local mod gomod
  mod=$(cd "$2" && gox mod download -json "$1") ||
    die "go mod download $1 failed (Go module proxy reachable?)"
  gomod=$(printf '%s\n' "$mod" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')
  [ -f "$gomod" ] || die "no go.mod for $1"
  echo "$gomod"
}
build_k8s() {
  local gomod want minor work ldflags v kv key val
  gomod=$(gomod_of "k8s.io/kubernetes@$K8S_VERSION" "$cache")
  want=$(need_go "k8s.io/kubernetes@$K8S_VERSION (K8S_VERSION)" "$gomod")
  minor=${K8S_VERSION#v1.}                       # 37.2
  work=$(mktemp -d "$cache/build.XXXXXX")
  build_work=$work     # removed on exit, whatever the exit
  {
    echo "// Generated by deploy/kubernetes/verify/run.sh: builds kube-apiserver and kubectl."
    echo "module switchboard.invalid/k8s-tools"
    echo
    echo "go $want"
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    sed -n 's#^[[:space:]]*\(k8s\.io/[^[:space:]]*\) => \./staging/src/k8s\.io/.*$#\t\1 => \1 v0.'"$minor"'#p' "$gomod"
    echo ")"
    echo
    echo "tool ("
    echo "	k8s.io/kubernetes/cmd/kube-apiserver"
    echo "	k8s.io/kubernetes/cmd/kubectl"
    echo ")"
  } >"$work/go.mod"
  grep -q '=> k8s.io/api v0' "$work/go.mod" || die "no staging replace directives found in $gomod"
  log "resolving k8s.io/kubernetes@$K8S_VERSION dependencies ($(grep -c ' => ' "$work/go.mod") staging replaces)"
  (cd "$work" && gox mod tidy) >"$work/tidy.log" 2>&1 || {
    cp "$work/go.mod" "$cache/failed-go.mod"; cp "$work/tidy.log" "$cache/failed-tidy.log"
    tail -n 30 "$work/tidy.log" >&2
    die "go mod tidy of the generated build module failed: $cache/failed-tidy.log, $cache/failed-go.mod"
  }
  ldflags="-s -w"
  for kv in "gitVersion=$K8S_VERSION" "gitMajor=1" "gitMinor=${minor%%.*}" \
            "gitTreeState=clean" "buildDate=1970-01-01T00:00:00Z"; do
    key=${kv%%=*} val=${kv#*=}
    for v in k8s.io/client-go/pkg/version k8s.io/component-base/version; do
      ldflags+=" -X $v.$key=$val"
    done
  done
  # A build cache of its own (about 3 GB, deleted with $work): once the
  # binaries are cached it is of no use, and it would crowd the shared one.
  log "building kube-apiserver and kubectl $K8S_VERSION (cold: several minutes; cached afterwards)"
  mkdir -p "$work/out"
  bg_build "$work" env GOTOOLCHAIN=local GOFLAGS=-mod=mod CGO_ENABLED=0 GOCACHE="$work/gocache" \
    go build -trimpath -ldflags "$ldflags" -o "$work/out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl || {
    cp "$work/go.mod" "$cache/failed-go.mod"; cp "$work/build.log" "$cache/failed-build.log"
    tail -n 40 "$work/build.log" >&2
    die "building k8s.io/kubernetes@$K8S_VERSION with $(go env GOVERSION) failed: $cache/failed-build.log"
  }
  cp "$work/go.mod" "$work/go.sum" "$work/out/"   # what was built, for the record
  rm -rf "$bin" && mv "$work/out" "$bin"
  rm -f "$cache"/failed-*
  rm -rf "$work"; build_work=""
}

binaries_ok() {
  local v
  [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kubectl" ] &&
    v=$("$bin/kubectl" version --client 2>/dev/null) &&
    grep -qxF "Client Version: $K8S_VERSION" <<<"$v"
}

# helm.sh/helm/v4 has no replace directives (checked: a version that gains
# some needs a generated module like build_k8s's), so `go install
# MODULE/cmd/helm@VERSION` builds it from its own go.mod and go.sum, with
# the machine's Go and a build cache of its own (about 1.2 GB, deleted).
build_helm() {
  local gomod work
  gomod=$(gomod_of "helm.sh/helm/v4@$HELM_VERSION" "$helm_cache")
  need_go "helm.sh/helm/v4@$HELM_VERSION (HELM_VERSION)" "$gomod" >/dev/null
  if grep -Eq '^[[:space:]]*replace[[:space:](]' "$gomod"; then
    die "helm.sh/helm/v4@$HELM_VERSION has replace directives, which go install refuses: build it through a generated module (as build_k8s does)"
  fi
  work=$(mktemp -d "$helm_cache/build.XXXXXX")
  build_work=$work
  log "building helm $HELM_VERSION (cold: several minutes; cached afterwards)"
  bg_build "$work" env GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0 GOCACHE="$work/gocache" GOBIN="$work/out" \
    go install -trimpath \
    -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION -X helm.sh/helm/v4/internal/version.gitTreeState=clean" \
    "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" || {
    cp "$work/build.log" "$helm_cache/failed-build.log"
    tail -n 40 "$work/build.log" >&2
    die "building helm.sh/helm/v4@$HELM_VERSION with $(go env GOVERSION) failed: $helm_cache/failed-build.log"
  }
  rm -rf "$helm_cache/bin" && mv "$work/out" "$helm_cache/bin"
  rm -f "$helm_cache"/failed-*
  rm -rf "$work"; build_work=""
}

helm_ok() {
  [ -x "$helm_bin" ] && [ "$("$helm_bin" version --template '{{.Version}}' 2>/dev/null)" = "$HELM_VERSION" ]
}

# ensure_built DIR CHECK BUILD: unless CHECK succeeds, run BUILD holding
# DIR/.lock (another run may be building the same version), then CHECK.
ensure_built() {
  local dir=$1 check=$2 build=$3 tb
  mkdir -p "$dir"
  if ! $check; then
    exec 9>"$dir/.lock"
    flock 9
    if ! $check; then
      tb=$(date +%s)
      $build
      log "built in $(( $(date +%s) - tb ))s into $dir/bin"
    fi
    exec 9>&-
  fi
  $check || die "the binaries in $dir/bin are unusable"
}

ensure_built "$helm_cache" helm_ok build_helm
log "helm $HELM_VERSION from $helm_bin"

# ---------------------------------------------------------------- go test
# With helm built, the chart's tests run too (they skip without it).
if [ $build_only -eq 0 ] && [ $go_test -eq 1 ]; then
  log "go test ./... in deploy/kubernetes/verify"
  (cd "$here" && SWITCHBOARD_HELM="$helm_bin" go test -count=1 ./...) || die "invariant tests failed (go test in $here)"
fi

ensure_built "$cache" binaries_ok build_k8s
log "kube-apiserver and kubectl $K8S_VERSION from $bin"
# Before the apiserver starts: a cold build takes minutes.
traefik_bin=$(bash "$root/test/lb/traefik-build.sh") || die "building Traefik failed (test/lb/traefik-build.sh)"
log "traefik from $traefik_bin"
if [ $build_only -eq 1 ]; then echo "$bin"; exit 0; fi
kubectl_bin="$bin/kubectl"

# ---------------------------------------------------------------- etcd
etcd=${ETCD:-$(command -v etcd || echo /usr/bin/etcd)}
[ -x "$etcd" ] || die "etcd not found (want $etcd): install Debian's etcd-server (apt-get install etcd-server)"
command -v openssl >/dev/null || die "openssl not found (needed for the service-account key pair)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/switchboard-k8s-verify.XXXXXX")
chmod 700 "$tmp"

# The servers run under timeout(1): should this script be SIGKILLed (no
# trap runs), they still end after this upper bound. A run takes seconds.
server_lifetime=900

# A port nobody listens on, below the ephemeral range (32768+) so that an
# outgoing connection cannot hold it. Binding can still race with another
# process; start_* then fail fast and the whole start is retried.
used_ports=" "
free_port() {
  local p i
  for i in $(seq 200); do
    p=$(( 20000 + RANDOM % 12000 ))
    case $used_ports in *" $p "*) continue ;; esac
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      used_ports+="$p "
      echo "$p"; return 0
    fi
  done
  die "no free loopback port found"
}

# wait_for DESC SECONDS PID CMD...: run CMD until it succeeds, at most
# SECONDS, failing early if PID exits.
wait_for() {
  local desc=$1 secs=$2 pid=$3 deadline; shift 3
  deadline=$(( $(date +%s) + secs ))
  until "$@" >/dev/null 2>&1; do
    kill -0 "$pid" 2>/dev/null || { log "$desc: process $pid exited"; return 1; }
    [ "$(date +%s)" -lt "$deadline" ] || { log "$desc: not ready after ${secs}s"; return 1; }
    sleep 0.2
  done
}


start_etcd() {
  etcd_port=$(free_port) etcd_peer=$(free_port)
  rm -rf "$tmp/etcd"
  timeout -k 10 "$server_lifetime" "$etcd" --name verify --data-dir "$tmp/etcd" \
    --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
    --listen-peer-urls "http://127.0.0.1:$etcd_peer" --initial-advertise-peer-urls "http://127.0.0.1:$etcd_peer" \
    --initial-cluster "verify=http://127.0.0.1:$etcd_peer" \
    --unsafe-no-fsync --log-level warn >"$tmp/etcd.log" 2>&1 &
  etcd_pid=$!; pids+=("$etcd_pid")
  wait_for etcd 30 "$etcd_pid" curl -fsS "http://127.0.0.1:$etcd_port/health"
}

start_apiserver() {
  api_port=$(free_port)
  rm -rf "$tmp/certs"; mkdir -p "$tmp/certs"
  timeout -k 10 "$server_lifetime" "$bin/kube-apiserver" \
    --bind-address=127.0.0.1 --advertise-address=127.0.0.1 --secure-port="$api_port" \
    --cert-dir="$tmp/certs" \
    --etcd-servers="http://127.0.0.1:$etcd_port" \
    --service-cluster-ip-range=10.96.0.0/16 \
    --token-auth-file="$tmp/tokens.csv" \
    --authorization-mode=RBAC \
    --anonymous-auth=false \
    --service-account-issuer=https://switchboard-verify.invalid \
    --service-account-key-file="$tmp/sa.pub" \
    --service-account-signing-key-file="$tmp/sa.key" \
    --endpoint-reconciler-type=none \
    --enable-priority-and-fairness=false \
    --profiling=false \
    >"$tmp/apiserver.log" 2>&1 &
  api_pid=$!; pids+=("$api_pid")
  cat >"$tmp/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: verify
  cluster:
    server: https://127.0.0.1:$api_port
    insecure-skip-tls-verify: true
users:
- name: admin
  user:
    token: $token
contexts:
- name: verify
  context: {cluster: verify, user: admin}
current-context: verify
EOF
  wait_for "kube-apiserver /readyz" 120 "$api_pid" \
    "$kubectl_bin" --kubeconfig "$tmp/kubeconfig" --request-timeout=5s get --raw '/readyz'
}

# Static token (a member of system:masters, so RBAC allows it everything)
# and a fresh service-account key pair.
token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
echo "$token,verify-admin,verify-admin,system:masters" >"$tmp/tokens.csv"
openssl genrsa -out "$tmp/sa.key" 2048 2>/dev/null
openssl rsa -in "$tmp/sa.key" -pubout -out "$tmp/sa.pub" 2>/dev/null

log "starting etcd ($etcd) and kube-apiserver on loopback"
starting=1          # a failure from here to ready shows the servers' logs
started=0
for attempt in 1 2 3; do
  if start_etcd; then
    if start_apiserver; then started=1; break; fi
    stop_pid "$api_pid"
  fi
  stop_pid "$etcd_pid"
  grep -qi 'address already in use' "$tmp/etcd.log" "$tmp/apiserver.log" 2>/dev/null ||
    die "etcd or kube-apiserver did not start (see the logs below)"
  log "port taken meanwhile; retrying ($attempt)"
done
[ $started -eq 1 ] || die "etcd or kube-apiserver did not start after 3 attempts"
starting=0
log "kube-apiserver ready on 127.0.0.1:$api_port (etcd 127.0.0.1:$etcd_port)"

kc() { "$kubectl_bin" --kubeconfig "$tmp/kubeconfig" --request-timeout=60s "$@"; }
kc version >/dev/null || die "kubectl version against the apiserver failed"

# ---------------------------------------------------------------- overlays
# apply_restricted NAME FILE: `kubectl apply --dry-run=server` FILE into a
# fresh namespace verify-NAME under the restricted Pod Security Standard,
# enforced and warned: the apiserver's PodSecurity admission warns about a
# workload whose pod template would be refused, and any warning fails this run.
restricted_ns() {
  kc create namespace "$1" >/dev/null || die "creating namespace $1 failed"
  kc label namespace "$1" pod-security.kubernetes.io/enforce=restricted \
    pod-security.kubernetes.io/warn=restricted >/dev/null || die "labelling namespace $1 failed"
}
apply_restricted() {
  local o=$1 file=$2 ns="verify-$1"
  restricted_ns "$ns"
  if ! kc apply --dry-run=server --validate=strict -n "$ns" -f "$file" >"$tmp/$o.out" 2>&1; then
    cat "$tmp/$o.out" >&2
    die "the apiserver rejected $o (kubectl apply --dry-run=server)"
  fi
  if grep -i '^warning' "$tmp/$o.out" >&2; then
    die "the apiserver warned about $o (above): fix the manifest"
  fi
  log "$o: accepted ($(grep -c 'created (server dry run)' "$tmp/$o.out") objects: $(sed -n 's/ created (server dry run)$//p' "$tmp/$o.out" | tr '\n' ' '))"
}

# The base, every overlay, and the composed builds of verify/testdata
# (overlays with optional components), each named by its directory.
overlays=()
for d in "$kdir"/overlays/*/; do overlays+=("$(basename "$d")"); done
[ ${#overlays[@]} -gt 0 ] || die "no overlays under $kdir/overlays"
composed=()
for d in "$here"/testdata/*/; do [ -d "$d" ] && composed+=("testdata-$(basename "$d")"); done
for o in base "${overlays[@]}" "${composed[@]}"; do
  case $o in
    base) src="$kdir/base" ;;
    testdata-*) src="$here/testdata/${o#testdata-}" ;;
    *) src="$kdir/overlays/$o" ;;
  esac
  kc kustomize "$src" >"$tmp/$o.yaml" 2>"$tmp/$o.err" ||
    { cat "$tmp/$o.err" >&2; die "kubectl kustomize $src failed"; }
  apply_restricted "$o" "$tmp/$o.yaml"
done

# ---------------------------------------------------------------- helm
# The chart: `helm lint --strict`, then rendered with its defaults and with
# every value set in verify/helm, each applied like an overlay (namespace
# verify-helm-SET). Helm keeps its config and cache in the temp directory.
export HELM_CONFIG_HOME="$tmp/helm/config" HELM_CACHE_HOME="$tmp/helm/cache" HELM_DATA_HOME="$tmp/helm/data"
helm() { "$helm_bin" "$@"; }
helm lint --strict "$chart" >"$tmp/helm-lint.out" 2>&1 ||
  { cat "$tmp/helm-lint.out" >&2; die "helm lint --strict $chart failed"; }
sets=(defaults)
for f in "$here"/helm/*.yaml; do sets+=("$(basename "$f" .yaml)"); done
[ ${#sets[@]} -gt 1 ] || die "no value sets in $here/helm"
for set in "${sets[@]}"; do
  vals=()
  [ "$set" = defaults ] || vals=(-f "$here/helm/$set.yaml")
  helm lint --strict "$chart" "${vals[@]}" >"$tmp/helm-lint.out" 2>&1 ||
    { cat "$tmp/helm-lint.out" >&2; die "helm lint --strict with value set $set failed"; }
  helm template switchboard "$chart" -n "verify-helm-$set" "${vals[@]}" >"$tmp/helm-$set.yaml" 2>"$tmp/helm-$set.err" ||
    { cat "$tmp/helm-$set.err" >&2; die "helm template with value set $set failed"; }
  apply_restricted "helm-$set" "$tmp/helm-$set.yaml"
done
# A real install and upgrade (objects stored; no controller runs them):
# the generated cluster secret is read back with lookup and kept, so the
# pods' checksum annotation does not change either.
ns=verify-helm-upgrade
restricted_ns "$ns"
cluster_secret() {
  kc -n "$ns" get secret switchboard-cluster -o jsonpath='{.data.secret}'
  echo " $(kc -n "$ns" get deployment switchboard -o jsonpath='{.spec.template.metadata.annotations.checksum/cluster-secret}')"
}
helm install switchboard "$chart" -n "$ns" --kubeconfig "$tmp/kubeconfig" >"$tmp/helm-install.out" 2>&1 ||
  { cat "$tmp/helm-install.out" >&2; die "helm install into $ns failed"; }
before=$(cluster_secret)
helm upgrade switchboard "$chart" -n "$ns" --kubeconfig "$tmp/kubeconfig" --set recovery.enabled=true >"$tmp/helm-install.out" 2>&1 ||
  { cat "$tmp/helm-install.out" >&2; die "helm upgrade in $ns failed"; }
after=$(cluster_secret)
case $before in " "*|*" ") die "helm install made no cluster secret or no checksum annotation ('$before')" ;; esac
[ "$before" = "$after" ] || die "helm upgrade changed the generated cluster secret or its checksum ('$before' -> '$after')"
kc -n "$ns" get deployment switchboard -o jsonpath='{.spec.template.spec.containers[0].env[*].name}' | grep -qw SWITCHBOARD_RECOVERY ||
  die "helm upgrade --set recovery.enabled=true did not reach the Deployment"
log "helm install + upgrade: the generated cluster secret and the pods' checksum kept, the upgrade's value applied"

# Each bad value set names, in a "# want: TEXT" line, what the refusal
# must mention: one refused for another reason proves nothing.
for f in "$here"/helm/bad/*.yaml; do
  name=$(basename "$f" .yaml)
  want=$(sed -n 's/^# want: //p' "$f")
  [ -n "$want" ] || die "$f has no '# want: ' line"
  if helm template switchboard "$chart" -f "$f" >"$tmp/helm-bad.out" 2>&1; then
    die "bad value set $name was ACCEPTED by helm template (want a refusal mentioning '$want')"
  fi
  grep -qiF -- "$want" "$tmp/helm-bad.out" ||
    { cat "$tmp/helm-bad.out" >&2; die "bad value set $name was refused, but not for '$want'"; }
  # The schema fails `helm lint` too; a check of the templates' (`fail`)
  # fails template and install, but lint only logs it.
  by="a check in the templates"
  if grep -q "don't meet the specifications of the schema" "$tmp/helm-bad.out"; then
    by="values.schema.json"
    helm lint "$chart" -f "$f" >"$tmp/helm-bad-lint.out" 2>&1 &&
      die "bad value set $name passed helm lint"
  fi
  log "bad value set $name refused by $by: $(grep -iF -m1 -- "$want" "$tmp/helm-bad.out" | cut -c1-100)"
done

# ---------------------------------------------------------------- negatives
# Each must be rejected by the server, with its reason in the message: a
# dry run that accepts everything would prove nothing.
reject() {
  local name=$1 want=$2 file="$tmp/bad-$1.yaml"
  cat >"$file"
  if kc apply --dry-run=server --validate=strict -n verify-base -f "$file" >"$tmp/bad-$name.out" 2>&1; then
    cat "$tmp/bad-$name.out" >&2
    die "broken manifest '$name' was ACCEPTED; the server-side checks prove nothing"
  fi
  grep -qi -- "$want" "$tmp/bad-$name.out" ||
    { cat "$tmp/bad-$name.out" >&2; die "broken manifest '$name' was rejected, but not for '$want'"; }
  log "broken manifest '$name' rejected as expected: $(grep -i -m1 -o -- "$want.*" "$tmp/bad-$name.out" | cut -c1-110)"
}
reject selector-mismatch 'selector.*does not match template' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken-selector}
spec:
  selector: {matchLabels: {app.kubernetes.io/name: switchboard}}
  template:
    metadata: {labels: {app.kubernetes.io/name: something-else}}
    spec:
      containers: [{name: c, image: switchboard}]
EOF
reject unknown-field 'unknown field' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken-field}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers:
        - name: c
          image: switchboard
          readinessProbes: {httpGet: {path: /readyz, port: 9090}}
EOF
reject wrong-type 'replicas' <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: broken-type}
spec:
  replicas: three
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers: [{name: c, image: switchboard}]
EOF

# PodSecurity admission must be live, or the no-warning check above proves
# nothing: a root pod template in a restricted namespace draws a warning.
cat >"$tmp/bad-root.yaml" <<'EOF'
apiVersion: apps/v1
kind: Deployment
metadata: {name: root-pod}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec:
      containers: [{name: c, image: switchboard, securityContext: {runAsUser: 0}}]
EOF
kc apply --dry-run=server --validate=strict -n verify-base -f "$tmp/bad-root.yaml" >"$tmp/bad-root.out" 2>&1 ||
  { cat "$tmp/bad-root.out" >&2; die "a root pod template was refused outright; expected a PodSecurity warning"; }
grep -q 'would violate PodSecurity "restricted' "$tmp/bad-root.out" ||
  { cat "$tmp/bad-root.out" >&2; die "no PodSecurity warning for a root pod template: is PodSecurity admission on?"; }
log "root pod template drew the PodSecurity restricted warning, as expected"

# ---------------------------------------------------------------- traefik
traefik_drain() {
  local sb=${SWITCHBOARD_BIN:-$root/bin/switchboard}
  [ -x "$sb" ] || die "no switchboard binary at $sb (make build, or set SWITCHBOARD_BIN)"
  log "the traefik overlay applied for real, Traefik's kubernetesIngress provider, a rolling drain (traefik-drain.test.mjs)"
  KUBECONFIG="$tmp/kubeconfig" KUBECTL="$kubectl_bin" TRAEFIK_BIN="$traefik_bin" SWITCHBOARD_BIN="$sb" \
    node --test "$here/traefik-drain.test.mjs" || die "the Traefik drain under the traefik overlay failed (above)"
}
traefik_drain

log "all overlays and chart value sets accepted by kube-apiserver $K8S_VERSION, broken manifests and bad values rejected; took $(( $(date +%s) - t0 ))s"
