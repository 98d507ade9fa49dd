#!/usr/bin/env bash
# Kind quickstart: a local cluster running the whole agent side against an in-cluster sink.
#
#   deploy/kind/quickstart.sh            # create, build, install, wait until the five are Ready
#   deploy/kind/quickstart.sh --delete   # remove the cluster
#
# Needs kind, kubectl, helm (3.12+) and docker or podman. Runs from any directory.
set -euo pipefail

CLUSTER=${CLUSTER:-skuber}
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-v1.16.2}
IMAGE=skuber-agent:dev
NS=skuber-observability
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CTX=kind-$CLUSTER
# The sink's Service stands where the guide says <gw-ip>.
GW=skuber-gateway.skuber-gateway.svc.cluster.local

if [[ ${1:-} == --delete ]]; then
  exec kind delete cluster --name "$CLUSTER"
fi

step() { printf '\n==> %s\n' "$*"; }

step "kind cluster $CLUSTER"
kind get clusters | grep -x "$CLUSTER" >/dev/null || kind create cluster --name "$CLUSTER" --wait 120s

step "cert-manager $CERT_MANAGER_VERSION (the operator's webhook certificate)"
kubectl --context "$CTX" apply -f \
  "https://github.com/cert-manager/cert-manager/releases/download/$CERT_MANAGER_VERSION/cert-manager.yaml"
kubectl --context "$CTX" -n cert-manager wait --for=condition=Available deployment --all --timeout=300s

step "image $IMAGE"
if command -v docker >/dev/null; then
  docker build -t "$IMAGE" "$ROOT"
  kind load docker-image "$IMAGE" --name "$CLUSTER"
else
  # Named as the node's containerd resolves `skuber-agent:dev` (podman would say localhost/...,
  # which the pods' image reference, with pullPolicy Never, would not find).
  podman build -t "docker.io/library/$IMAGE" "$ROOT"
  podman save "docker.io/library/$IMAGE" -o /tmp/skuber-agent.tar
  kind load image-archive /tmp/skuber-agent.tar --name "$CLUSTER"
fi

step "gateway stand-in (collector sink)"
kubectl --context "$CTX" apply -f "$ROOT/deploy/kind/gateway-sink.yaml"
kubectl --context "$CTX" -n skuber-gateway rollout status deployment/skuber-gateway --timeout=180s

step "helm upgrade --install (the product guide's command)"
helm upgrade --install skuberplus-observability-agent "$ROOT/deploy/skuberplus-observability-agent" \
  --kube-context "$CTX" --namespace "$NS" --create-namespace \
  --set global.clusterName="$CLUSTER" \
  --set global.deploymentEnvironment=dev \
  --set global.otelInsecure=true \
  --set global.hostEndpointHttp="http://$GW:4318" \
  --set skuber-otel-agent.otelCollectorEndpoint="$GW:4317" \
  --set skuber-apm-agent.config.data.attributes.kubernetes.cluster_name="$CLUSTER" \
  --set instrumentation.exporter.endpoint="http://$GW:4317" \
  --set image.repository=skuber-agent --set image.tag=dev --set image.pullPolicy=Never \
  --wait --timeout 25m

step "the five components"
for ds in skuber-otel-agent skuber-apm-agent; do
  kubectl --context "$CTX" -n "$NS" rollout status "daemonset/$ds" --timeout=300s
done
for deploy in skuber-otel-deployment skuber-ksm skuber-otel-operator; do
  kubectl --context "$CTX" -n "$NS" rollout status "deployment/$deploy" --timeout=300s
done
kubectl --context "$CTX" -n "$NS" get pods
# grep without -q reads all of its input: with pipefail, -q could make kubectl die of SIGPIPE.
if kubectl --context "$CTX" -n "$NS" logs -l app.kubernetes.io/name=skuber-otel-agent --tail=20 \
  | grep "Everything is ready" >/dev/null; then
  echo "agents report: Everything is ready"
else
  echo "agents have not logged 'Everything is ready' yet: check their logs" >&2
fi
echo "Data arriving at the gateway: kubectl --context $CTX -n skuber-gateway logs deploy/skuber-gateway"
