"""Slim records the k8sattributes informers keep, and the extraction rules that build them.

Each pod is reduced once, when its watch event arrives, to the resource attributes it contributes
(so the hot path only does dict lookups) plus what association and container lookups need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .config import ExtractConfig, FieldExtractConfig

IGNORE_ANNOTATION = "opentelemetry.io/k8s-processor/ignore"   # upstream: "true" hides the pod
OTEL_ANNOTATION_PREFIX = "resource.opentelemetry.io/"
_CRONJOB_FROM_JOB = re.compile(r"^(.*)-[0-9]+$")               # upstream's cronJob regex
_DEPLOYMENT_FROM_RS = re.compile(r"^(.*)-[0-9a-zA-Z]+$")      # upstream's deployment regex
_GO_BACKREF = re.compile(r"\$(\d+|\{\w+\})")


@dataclass(frozen=True)
class FieldRule:
    name: str                   # tag name (may hold back references when regex is set)
    key: str
    regex: re.Pattern | None
    default_prefix: str         # k8s.<from>.<labels|annotations>.

    def apply(self, source: dict, out: dict) -> None:
        if self.regex is None:
            if self.key in source:
                out[self.name or self.default_prefix + self.key] = str(source[self.key])
            return
        for k, v in source.items():
            m = self.regex.fullmatch(k)
            if not m:
                continue
            if not self.name:
                out[self.default_prefix + k] = str(v)
            else:
                out[_expand(self.name, m)] = str(v)


def _expand(template: str, m: re.Match) -> str:
    # Go's Regexp.Expand syntax ($1, ${name}), as the tag_name of upstream's key_regex rules.
    def sub(ref: re.Match) -> str:
        token = ref.group(1).strip("{}")
        try:
            return m.group(int(token) if token.isdigit() else token) or ""
        except IndexError:  # no such group: Go expands it to the empty string too
            return ""
    return _GO_BACKREF.sub(sub, template)


def _compile(rules: list[FieldExtractConfig], kind: str) -> dict[str, list[FieldRule]]:
    by_source: dict[str, list[FieldRule]] = {"pod": [], "namespace": [], "node": []}
    for r in rules:
        src = r.from_ or "pod"
        regex = re.compile(r.key_regex) if r.key_regex else None
        by_source[src].append(FieldRule(r.tag_name, r.key, regex, f"k8s.{src}.{kind}."))
    return by_source


class Rules:
    """extract.* compiled once."""

    def __init__(self, extract: ExtractConfig):
        self.metadata = frozenset(extract.metadata_fields())
        self.labels = _compile(extract.labels, "labels")
        self.annotations = _compile(extract.annotations, "annotations")
        self.otel_annotations = extract.otel_annotations

    @property
    def needs_namespaces(self) -> bool:
        return bool(self.labels["namespace"] or self.annotations["namespace"]) or "k8s.cluster.uid" in self.metadata

    @property
    def needs_nodes(self) -> bool:
        return bool(self.labels["node"] or self.annotations["node"]) or "k8s.node.uid" in self.metadata

    @property
    def needs_replicasets(self) -> bool:
        return "k8s.deployment.uid" in self.metadata

    def meta_attrs(self, raw: dict, source: str) -> dict[str, str]:
        meta = raw.get("metadata") or {}
        out: dict[str, str] = {}
        for rule in self.labels[source]:
            rule.apply(meta.get("labels") or {}, out)
        for rule in self.annotations[source]:
            rule.apply(meta.get("annotations") or {}, out)
        return out


class ContainerInfo:
    __slots__ = ("name", "image_name", "image_tag", "repo_digests", "ids")

    def __init__(self, name: str, image_name: str, image_tag: str):
        self.name = name
        self.image_name = image_name
        self.image_tag = image_tag
        self.repo_digests: list[str] = []
        self.ids: dict[int, str] = {}       # restart count -> container id


class PodRecord:
    """What we keep of a pod; a few hundred bytes instead of the raw object."""

    __slots__ = ("uid", "namespace", "name", "ip", "host_network", "node", "attrs", "containers",
                 "container_names_by_id", "replicaset", "ignored")

    def __init__(self) -> None:
        self.attrs: dict[str, str] = {}
        self.containers: dict[str, ContainerInfo] = {}
        self.container_names_by_id: dict[str, str] = {}
        self.replicaset: tuple[str, str] | None = None   # (name, uid) of the owning ReplicaSet


def parse_image(image: str) -> tuple[str, str]:
    """`registry/repo:tag@sha256:..` -> (registry/repo, tag); a missing tag reads "latest", as
    upstream's docker reference parsing."""
    name = image.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1:]
    return name, "latest" if "@" not in image else ""


def strip_runtime(container_id: str) -> str:
    # containerd://abc, docker://abc, cri-o://abc -> abc (resource attributes carry the bare id)
    return container_id.split("://", 1)[-1]


def pod_record(raw: dict, rules: Rules, excludes: list[re.Pattern]) -> PodRecord | None:
    meta = raw.get("metadata") or {}
    spec = raw.get("spec") or {}
    status = raw.get("status") or {}
    rec = PodRecord()
    rec.uid = meta.get("uid", "")
    rec.namespace = meta.get("namespace", "")
    rec.name = meta.get("name", "")
    rec.ip = status.get("podIP") or ""
    rec.host_network = bool(spec.get("hostNetwork"))
    rec.node = spec.get("nodeName") or ""
    rec.ignored = (meta.get("annotations") or {}).get(IGNORE_ANNOTATION) == "true" or any(
        p.search(rec.name) for p in excludes)
    if rec.ignored:
        return rec
    a = rec.attrs
    want = rules.metadata
    if "k8s.namespace.name" in want:
        a["k8s.namespace.name"] = rec.namespace
    if "k8s.pod.name" in want:
        a["k8s.pod.name"] = rec.name
    if "k8s.pod.uid" in want:
        a["k8s.pod.uid"] = rec.uid
    if "k8s.pod.start_time" in want and meta.get("creationTimestamp"):
        a["k8s.pod.start_time"] = meta["creationTimestamp"]
    if "k8s.pod.ip" in want and rec.ip:
        a["k8s.pod.ip"] = rec.ip
    if "k8s.pod.hostname" in want and spec.get("hostname"):
        a["k8s.pod.hostname"] = spec["hostname"]
    if "k8s.node.name" in want and rec.node:
        a["k8s.node.name"] = rec.node
    labels = meta.get("labels") or {}
    for ref in meta.get("ownerReferences") or []:
        kind, name, uid = ref.get("kind"), ref.get("name", ""), ref.get("uid", "")
        if kind == "ReplicaSet":
            rec.replicaset = (name, uid)
            if "k8s.replicaset.name" in want:
                a["k8s.replicaset.name"] = name
            if "k8s.replicaset.uid" in want:
                a["k8s.replicaset.uid"] = uid
            if "k8s.deployment.name" in want:
                deployment = _deployment_name(name, labels.get("pod-template-hash"))
                if deployment:
                    a["k8s.deployment.name"] = deployment
        elif kind in ("DaemonSet", "StatefulSet", "Job"):
            low = kind.lower()
            if f"k8s.{low}.name" in want:
                a[f"k8s.{low}.name"] = name
            if f"k8s.{low}.uid" in want:
                a[f"k8s.{low}.uid"] = uid
            if kind == "Job" and "k8s.cronjob.name" in want:
                m = _CRONJOB_FROM_JOB.match(name)
                if m:
                    a["k8s.cronjob.name"] = m.group(1)
    a.update(rules.meta_attrs(raw, "pod"))
    if rules.otel_annotations:
        for k, v in (meta.get("annotations") or {}).items():
            if k.startswith(OTEL_ANNOTATION_PREFIX) and len(k) > len(OTEL_ANNOTATION_PREFIX):
                a[k[len(OTEL_ANNOTATION_PREFIX):]] = str(v)
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        image_name, image_tag = parse_image(c.get("image", ""))
        rec.containers[c.get("name", "")] = ContainerInfo(c.get("name", ""), image_name, image_tag)
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        info = rec.containers.get(cs.get("name", ""))
        if info is None:
            continue
        if cs.get("containerID"):
            cid = strip_runtime(cs["containerID"])
            info.ids[int(cs.get("restartCount") or 0)] = cid
            rec.container_names_by_id[cid] = info.name
        if cs.get("imageID") and "@" in cs["imageID"]:
            digest = strip_runtime(cs["imageID"])
            if digest not in info.repo_digests:
                info.repo_digests.append(digest)
    return rec


def _deployment_name(replicaset: str, template_hash: str | None) -> str:
    if template_hash and replicaset.endswith("-" + template_hash):
        return replicaset[: -len(template_hash) - 1]
    m = _DEPLOYMENT_FROM_RS.match(replicaset)
    return m.group(1) if m else ""


@dataclass(frozen=True)
class OwnerRecord:
    """A namespace, node or replicaset: its uid, the attributes its rules give, its owner."""
    uid: str
    attrs: dict
    owner_name: str = ""
    owner_uid: str = ""


def namespace_record(raw: dict, rules: Rules) -> OwnerRecord:
    return OwnerRecord((raw.get("metadata") or {}).get("uid", ""), rules.meta_attrs(raw, "namespace"))


def node_record(raw: dict, rules: Rules) -> OwnerRecord:
    return OwnerRecord((raw.get("metadata") or {}).get("uid", ""), rules.meta_attrs(raw, "node"))


def replicaset_record(raw: dict) -> OwnerRecord:
    meta = raw.get("metadata") or {}
    for ref in meta.get("ownerReferences") or []:
        if ref.get("kind") == "Deployment":
            return OwnerRecord(meta.get("uid", ""), {}, ref.get("name", ""), ref.get("uid", ""))
    return OwnerRecord(meta.get("uid", ""), {})
