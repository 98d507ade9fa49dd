"""HTTP(S) client for the kubelet's read API (/stats/summary, /pods), per auth_type:

- `serviceAccount`: bearer token from the pod's service account (re-read on every request, since
  bound tokens rotate), verified with the service account CA unless `insecure_skip_verify`;
- `tls`: client certificate `cert_file`/`key_file`, server verified with `ca_file`;
- `none`: no credentials (the read-only port, usually http://<node>:10255);
- `kubeConfig`: through the API server's node proxy (`/api/v1/nodes/<node>/proxy/...`).
"""

from __future__ import annotations

import json
import ssl

from .config import Config

SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"


class KubeletError(Exception):
    pass


class KubeletClient:
    def __init__(self, config: Config, timeout: float, service_account_dir: str | None = None):
        import urllib3

        self.config = config
        self.timeout = timeout
        self.sa_dir = service_account_dir or SERVICE_ACCOUNT_DIR
        self.base = config.kubelet_url()
        self._api_client = None
        if config.auth_type == "kubeConfig":
            from collector.k8s.client import make_api_client

            self._api_client = make_api_client("kubeConfig", context=config.context or None)
            self._pool = None
            return
        ctx = None
        if self.base.startswith("https://"):
            ctx = ssl.create_default_context()
            ca = config.ca_file
            if config.auth_type == "serviceAccount" and not ca:
                ca = f"{self.sa_dir}/ca.crt"
            if config.insecure_skip_verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            elif ca:
                ctx.load_verify_locations(ca)
            if config.auth_type == "tls":
                ctx.load_cert_chain(config.cert_file, config.key_file)
        self._pool = urllib3.PoolManager(ssl_context=ctx, retries=False, maxsize=1)

    def _headers(self) -> dict:
        headers = {"Accept": "application/json"}
        if self.config.auth_type == "serviceAccount":
            with open(f"{self.sa_dir}/token") as f:
                headers["Authorization"] = "Bearer " + f.read().strip()
        return headers

    def get(self, path: str) -> dict:
        """GET a kubelet path and decode its JSON; KubeletError on any failure."""
        import urllib3

        try:
            if self._api_client is not None:
                from collector.k8s.client import request_json

                return request_json(self._api_client, "GET",
                                    f"/api/v1/nodes/{self.config.node}/proxy/{path.lstrip('/')}",
                                    timeout=(min(10.0, self.timeout), self.timeout))
            resp = self._pool.request("GET", self.base + path, headers=self._headers(),
                                      timeout=urllib3.Timeout(total=self.timeout))
        except (OSError, urllib3.exceptions.HTTPError, ssl.SSLError) as e:
            raise KubeletError(f"{path}: {e}") from e
        except Exception as e:  # noqa: BLE001 - APIError from the proxy path, token files...
            raise KubeletError(f"{path}: {e}") from e
        if resp.status != 200:
            raise KubeletError(f"{path}: HTTP {resp.status} {resp.data[:200]!r}")
        try:
            return json.loads(resp.data)
        except ValueError as e:
            raise KubeletError(f"{path}: invalid JSON: {e}") from e

    def close(self) -> None:
        if self._pool is not None:
            self._pool.clear()
        if self._api_client is not None:
            self._api_client.close()


def pod_metadata(pods: dict) -> tuple[dict, dict]:
    """From the kubelet's /pods (a PodList): container ids and volume types by pod uid."""
    container_ids: dict = {}
    volume_types: dict = {}
    for pod in (pods or {}).get("items") or []:
        if not isinstance(pod, dict):
            continue
        uid = (pod.get("metadata") or {}).get("uid", "")
        status = pod.get("status") or {}
        # Every listed container and volume has an entry (maybe ""): one missing from /pods is
        # skipped by the converter, as upstream's "not found in the fetched metadata" error does.
        for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
            if isinstance(cs, dict):
                container_ids[(uid, cs.get("name"))] = str(cs.get("containerID") or "").split("://", 1)[-1]
        for vol in (pod.get("spec") or {}).get("volumes") or []:
            if isinstance(vol, dict):
                kinds = [k for k in vol if k != "name"]
                volume_types[(uid, vol.get("name"))] = kinds[0] if kinds else ""
    return container_ids, volume_types
