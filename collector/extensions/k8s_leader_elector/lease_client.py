"""coordination.k8s.io/v1 Lease reads and writes as raw JSON (collector.k8s.client.request_json):
no typed models, and a stale resourceVersion surfaces as APIError(409)."""
from __future__ import annotations

from collector.k8s.client import APIError, request_json, resource_path


class LeaseClient:
    def __init__(self, api_client, namespace: str, name: str, timeout: float = 5.0):
        self.api = api_client
        self.namespace = namespace
        self.name = name
        self.timeout = (timeout, timeout)
        self._collection = resource_path("coordination.k8s.io", "v1", "leases", namespace)
        self._item = resource_path("coordination.k8s.io", "v1", "leases", namespace, name)

    def get(self) -> dict | None:
        """The lease, or None when it does not exist."""
        try:
            return request_json(self.api, "GET", self._item, timeout=self.timeout)
        except APIError as e:
            if e.status == 404:
                return None
            raise

    def create(self, spec: dict, annotations: dict | None = None) -> dict:
        return request_json(self.api, "POST", self._collection, body=self._body(None, spec, annotations),
                            timeout=self.timeout)

    def replace(self, lease: dict, spec: dict, annotations: dict | None = None) -> dict:
        """PUT carrying the resourceVersion we read: a concurrent writer makes this a 409.
        annotations None keeps the lease's own."""
        md = lease.get("metadata") or {}
        if annotations is None:
            annotations = md.get("annotations")
        return request_json(self.api, "PUT", self._item,
                            body=self._body(md.get("resourceVersion", ""), spec, annotations), timeout=self.timeout)

    def _body(self, resource_version: str | None, spec: dict, annotations: dict | None) -> dict:
        meta: dict = {"name": self.name, "namespace": self.namespace}
        if resource_version:
            meta["resourceVersion"] = resource_version
        if annotations:
            meta["annotations"] = dict(annotations)
        return {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": meta, "spec": spec}
