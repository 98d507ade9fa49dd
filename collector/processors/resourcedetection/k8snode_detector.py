"""k8snode detector: the node this pod runs on, from an env var the downward API sets.

The DaemonSet sets K8S_NODE_NAME from `fieldRef: spec.nodeName`; that value becomes
k8s.node.name. k8s.node.uid needs a GET of the Node object from the API server, which this
detector does not make: it is left unset (and said once in the log) rather than guessed.
"""
from __future__ import annotations

from .config import K8SNODE_ATTRIBUTES, K8sNodeConfig, enabled_attrs


def detect(config: K8sNodeConfig, environ, log) -> dict[str, str]:
    on = enabled_attrs(config.resource_attributes, K8SNODE_ATTRIBUTES)
    name = environ.get(config.node_from_env_var, "").strip()
    if not name:
        raise ValueError(f"node name can't be found: set the {config.node_from_env_var} "
                         "environment variable (downward API fieldRef spec.nodeName)")
    if "k8s.node.uid" in on:
        log.info("k8snode detector: k8s.node.uid needs the Kubernetes API and is not detected; "
                 "disable it with k8snode.resource_attributes.k8s.node.uid.enabled: false")
    return {"k8s.node.name": name} if "k8s.node.name" in on else {}
