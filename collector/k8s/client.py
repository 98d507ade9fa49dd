"""Building a `kubernetes` ApiClient from a component's `auth_type`, and raw-JSON requests on it.

auth_type (as otelcol-contrib's k8sconfig): `serviceAccount` (in-cluster token and CA),
`kubeConfig` (file from `kubeconfig`, else $KUBECONFIG, else ~/.kube/config; optional context),
`none` (in-cluster host, no credentials). `tls` is kubeletstats-only and not an API server mode.

We never use the client's generated models for reads: they are costly and reject real objects
(an events.k8s.io Event with a null eventTime), so lists and watches go through `request()` and
return raw bytes / dicts.
"""

from __future__ import annotations

import json
import os
from urllib.parse import quote

AUTH_TYPES = ("serviceAccount", "kubeConfig", "none")

DEFAULT_CONNECT_TIMEOUT = 10.0


class APIError(Exception):
    """A non-2xx answer. `status` is the HTTP code (0 for transport-level failures)."""

    def __init__(self, status: int, reason: str, body: dict | None = None):
        message = (body or {}).get("message") or reason
        super().__init__(f"{status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.body = body or {}


def _kubeconfig_path(explicit: str | None) -> str:
    if explicit:
        return explicit
    env = os.environ.get("KUBECONFIG")
    if env:
        # KUBECONFIG may list several files; the client loads one, so take the first existing.
        for candidate in env.split(os.pathsep):
            if candidate and os.path.exists(candidate):
                return candidate
    return os.path.expanduser("~/.kube/config")


def make_api_client(auth_type: str = "serviceAccount", kubeconfig: str | None = None,
                    context: str | None = None, host: str | None = None):
    """Returns a kubernetes.client.ApiClient. Raises ValueError on an unknown auth_type and the
    client's ConfigException when credentials are missing (e.g. serviceAccount outside a pod)."""
    from kubernetes import client, config

    cfg = client.Configuration()
    if auth_type == "serviceAccount":
        config.load_incluster_config(client_configuration=cfg)
    elif auth_type == "kubeConfig":
        config.load_kube_config(config_file=_kubeconfig_path(kubeconfig), context=context,
                                client_configuration=cfg, persist_config=False)
    elif auth_type == "none":
        if host is None:
            svc_host = os.environ.get("KUBERNETES_SERVICE_HOST")
            svc_port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
            if not svc_host:
                raise ValueError("auth_type none needs KUBERNETES_SERVICE_HOST or an explicit host")
            host = f"https://{svc_host}:{svc_port}"
        cfg.host = host
        cfg.verify_ssl = False
    else:
        raise ValueError(f"unknown auth_type {auth_type!r}; expected one of {', '.join(AUTH_TYPES)}")
    if host and auth_type != "none":
        cfg.host = host
    return client.ApiClient(configuration=cfg)


def resource_path(group: str, version: str, plural: str, namespace: str | None = None,
                  name: str | None = None) -> str:
    base = f"/api/{version}" if not group else f"/apis/{group}/{version}"
    if namespace:
        base += f"/namespaces/{quote(namespace, safe='')}"
    base += f"/{plural}"
    if name:
        base += f"/{quote(name, safe='')}"
    return base


def request(api_client, method: str, path: str, query: dict | None = None, body=None,
            timeout: tuple[float, float] | float = (DEFAULT_CONNECT_TIMEOUT, 60.0),
            stream: bool = False):
    """One raw request. Returns the urllib3 response (stream=True: unread, caller closes it) or
    the decoded JSON body. Raises APIError on a non-2xx status."""
    query_params = [(k, v) for k, v in (query or {}).items() if v is not None]
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = ("application/merge-patch+json" if method == "PATCH"
                                   else "application/json")
    method, url, header_params, body, post_params = api_client.param_serialize(
        method, path, query_params=query_params, header_params=headers, body=body,
        auth_settings=["BearerToken"])
    rest_response = api_client.call_api(method, url, header_params=header_params, body=body,
                                        post_params=post_params, _request_timeout=timeout)
    resp = rest_response.response
    if not 200 <= resp.status < 300:
        raw = resp.data
        resp.release_conn()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = None
        raise APIError(resp.status, resp.reason or "", parsed if isinstance(parsed, dict) else None)
    if stream:
        return resp
    raw = resp.data
    resp.release_conn()
    return json.loads(raw) if raw else {}


def request_json(api_client, method: str, path: str, query: dict | None = None, body=None,
                 timeout: tuple[float, float] | float = (DEFAULT_CONNECT_TIMEOUT, 60.0)) -> dict:
    """GET/POST/PUT/PATCH/DELETE returning the decoded JSON; APIError on a non-2xx answer (409 for
    a stale resourceVersion on PUT: what a lease-based leader elector needs)."""
    return request(api_client, method, path, query=query, body=body, timeout=timeout)
