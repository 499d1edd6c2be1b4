#!/usr/bin/env bash
# The main job on the local cluster: both recipes of SCENARIO.md, made, checked, listed and
# cleaned with `kubectl egress`, next to what real kubectl sees. Run by `make demo`, which puts
# the project's virtual environment (and so kubectl-egress) first on PATH.
#   ISTIO=1.24 make demo                  another Istio release (1.20, 1.22, 1.24, 1.28)
#   OUTBOUND=REGISTRY_ONLY make demo      a mesh that reaches only hosts in its registry
#   AMBIENT=1 make demo                   ambient mode: ztunnel instead of sidecars
set -euo pipefail
cd "$(dirname "$0")/.."

work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mesh=(--istio "${ISTIO:-1.20}")
if [ -n "${OUTBOUND:-}" ]; then mesh+=(--outbound-policy "$OUTBOUND"); fi
if [ -n "${AMBIENT:-}" ] && [ "${AMBIENT}" != 0 ]; then mesh+=(--ambient); fi
python -m tests.apiserver --kubeconfig "$work/kubeconfig" "${mesh[@]}" >"$work/server.out" 2>"$work/server.err" &
server=$!
for _ in $(seq 100); do
  grep -q '^ready ' "$work/server.out" 2>/dev/null && break
  kill -0 "$server" 2>/dev/null || { cat "$work/server.err" >&2; exit 1; }
  sleep 0.1
done
echo "local cluster: $(cat "$work/server.out")"
export KUBECONFIG="$work/kubeconfig"
export KUBECACHEDIR="$work/kube-cache"

step() {
  printf '\n$ %s\n' "$*"
  "$@"
}

step kubectl egress version
# Recipe 1: an ExternalName Service and its DestinationRule
step kubectl egress externalname my-httpbin httpbin.org
step kubectl get svc my-httpbin
step kubectl egress externalname my-httpbin httpbin.org
# Recipe 2: a selector-less Service, its endpoints and its DestinationRule
step kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --protocol tls --host en.wikipedia.org
step kubectl get svc my-wikipedia
step kubectl get endpointslices,destinationrules
step kubectl egress get -o wide
# Check both from a pod with an Istio sidecar and from one without (created on first use)
step kubectl egress probe --deploy-sources --all-sources
if [ -n "${AMBIENT:-}" ] && [ "${AMBIENT}" != 0 ]; then
  # Ambient: ztunnel sends no Istio mTLS to external hosts and ignores REGISTRY_ONLY, so the Istio
  # objects change nothing for its pods; a Service's endpoints are what matter
  step kubectl delete destinationrule,serviceentry --all
  step kubectl egress probe --all-sources
  step kubectl delete endpointslice my-wikipedia-ipv4
elif [ "${OUTBOUND:-}" = REGISTRY_ONLY ] && [ -n "$(kubectl get serviceentry -o name)" ]; then
  # REGISTRY_ONLY: without the ServiceEntry the external host is not in the registry: the sidecar blocks it
  step kubectl delete serviceentry my-httpbin
else
  # Without the DestinationRules, Istio mTLS goes to the external hosts: the mesh rows fail, with the fix
  step kubectl delete destinationrule my-httpbin my-wikipedia
fi
step kubectl egress probe --all-sources || true
step kubectl egress check || true
step kubectl egress externalname my-httpbin httpbin.org
step kubectl egress endpoints my-wikipedia 198.35.26.96 208.80.153.224 --port 443 --protocol tls --host en.wikipedia.org
step kubectl egress probe --all-sources
# The neighbours: a ServiceEntry (Istio's "Accessing External Services"), and TLS origination (the
# app speaks plain HTTP, its sidecar speaks TLS to site.example:443; without a sidecar, the site's redirect)
step kubectl egress serviceentry my-example example.com
step kubectl egress externalname my-site site.example --tls-origination
step kubectl egress probe --all-sources my-example my-site
step kubectl egress check
# The whole cluster: another team's egress Service, made by hand as `kubectl create` makes it, is read
# too; each namespace is probed from its own source, and the summary counts results and hints
step kubectl create namespace team-b
step kubectl label namespace team-b istio-injection=enabled
step kubectl create service externalname legacy-httpbin -n team-b --external-name httpbin.org --tcp=80:80
step kubectl egress probe -A --deploy-sources --summary || true
# Cleanup: exactly what was made (the hand-made Service stays)
step kubectl egress clean -A
step kubectl egress get -A
step kubectl get svc -A
