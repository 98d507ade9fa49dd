"""Pod association: which identifiers a pod is known by, and which one a resource carries.

An identifier is a tuple of (from, name, value) per source of one `pod_association` rule, as
upstream's kube.PodIdentifier. Pods are indexed under every identifier of every rule; a resource
is matched with the first rule whose sources all have a value (upstream's extractPodID).
"""

from __future__ import annotations

import ipaddress
from itertools import product

from .records import PodRecord

Source = tuple[str, str]          # (from, name)
Identifier = tuple

# With no pod_association configured, pods are indexed by IP as a connection source...
DEFAULT_ASSOCIATIONS: list[list[Source]] = [[("connection", "")]]
# ...and a resource is matched by these, in order, all read as a connection-sourced IP.
_NO_ASSOCIATION_IP_ATTRS = ("k8s.pod.ip", "ip")


def normalize_ip(addr: str | None) -> str:
    """A peer address as the OTLP receiver may give it (`1.2.3.4`, `1.2.3.4:5678`,
    `ipv4:1.2.3.4:5678`, `[::1]:80`) -> the bare IP, or "" when it is not one."""
    if not addr:
        return ""
    text = addr
    for prefix in ("ipv4:", "ipv6:"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    if text.startswith("["):
        text = text[1:text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        return str(ipaddress.ip_address(text.split("%", 1)[0]))
    except ValueError:
        return ""


def _pod_values(pod: PodRecord, source: Source) -> list[str]:
    from_, name = source
    if from_ == "resource_attribute":
        if name == "k8s.namespace.name":
            return [pod.namespace]
        if name == "k8s.pod.name":
            return [pod.name]
        if name == "k8s.pod.uid":
            return [pod.uid]
        if name == "container.id":
            return list(pod.container_names_by_id)
    # connection, k8s.pod.ip, ip, host.name...: the pod's IP. Host-network pods share the node's
    # IP, so upstream never associates them by IP.
    if pod.ip and not pod.host_network:
        return [pod.ip]
    return []


def pod_identifiers(pod: PodRecord, associations: list[list[Source]]) -> list[Identifier]:
    out: list[Identifier] = []
    for sources in associations:
        values = [_pod_values(pod, s) for s in sources]
        for combo in product(*values):
            out.append(tuple((s[0], s[1], v) for s, v in zip(sources, combo)))
    return out


def resource_identifier(attrs: dict, client_addr: str | None,
                        associations: list[list[Source]] | None) -> Identifier | None:
    if not associations:
        for key in _NO_ASSOCIATION_IP_ATTRS:
            if attrs.get(key):
                return (("connection", "", str(attrs[key])),)
        ip = normalize_ip(client_addr)
        if ip:
            return (("connection", "", ip),)
        host = attrs.get("host.name")
        if host and normalize_ip(str(host)):
            return (("connection", "", str(host)),)
        return None
    ip = normalize_ip(client_addr)
    for sources in associations:
        parts = []
        for from_, name in sources:
            if from_ == "connection":
                value = ip
            else:
                value = attrs.get(name)
                value = "" if value is None else str(value)
                if name == "host.name" and not normalize_ip(value):
                    value = ""  # host.name only associates when it carries a pod IP
            if not value:
                break
            parts.append((from_, name, value))
        else:
            return tuple(parts)
    return None


def connection_ip(identifier: Identifier | None) -> str:
    for from_, _name, value in identifier or ():
        if from_ == "connection":
            return value
    return ""
