"""Kubernetes resource attributes from a container log file path.

The kubelet writes `/var/log/pods/<namespace>_<pod>_<uid>/<container>/<restart>.log` and
rotates it to `<restart>.log.<YYYYMMDD-hhmmss>` (later gzipped). otelcol-contrib's container
operator only matches names ending in `.log`, so the tail of a rotated file read through its
new name lost its metadata (contrib #35137); we also accept the rotation suffix.
`/var/log/containers/*.log` are symlinks into `/var/log/pods`: callers pass the resolved path
when the given one does not match.
"""
from __future__ import annotations

import re

# Same groups as the operator's logpathPattern, plus the optional rotation suffix.
_POD_LOG = re.compile(
    r"^.*[/\\](?P<namespace>[^_/\\]+)_(?P<pod_name>[^_/\\]+)_(?P<uid>[a-f0-9\-]+)[/\\]"
    r"(?P<container_name>[^._/\\]+)[/\\](?P<restart_count>\d+)\.log(?:\.[^/\\]+)?$")

COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz", ".zst", ".zip", ".lz4", ".z")

ATTRIBUTE_NAMES = (
    ("namespace", "k8s.namespace.name"),
    ("pod_name", "k8s.pod.name"),
    ("uid", "k8s.pod.uid"),
    ("container_name", "k8s.container.name"),
    ("restart_count", "k8s.container.restart_count"),
)


def is_compressed_name(path: str) -> bool:
    return path.lower().endswith(COMPRESSED_SUFFIXES)


def k8s_attributes(path: str) -> list[tuple[str, str]] | None:
    """Resource attributes for a pod log path, or None when the path is not one."""
    if is_compressed_name(path):
        return None
    m = _POD_LOG.match(path)
    if m is None:
        return None
    return [(attr, m.group(group)) for group, attr in ATTRIBUTE_NAMES]
