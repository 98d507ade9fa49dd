"""k8s_events receiver config: otelcol-contrib's keys plus `storage` and `k8s_leader_elector`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from collector.config import ConfigError


@dataclass
class Config:
    auth_type: Literal["none", "serviceAccount", "kubeConfig"] = "serviceAccount"
    context: str = ""
    # Namespaces to collect events from; [] = all namespaces.
    namespaces: list[str] = field(default_factory=list)
    # Id of a file_storage extension keeping the last delivered event resourceVersion, so a
    # restart resumes without duplicates or gaps. Without it, a restart starts from "now".
    storage: str | None = None
    # Id of a k8s_leader_elector extension: watch and emit only while this replica leads.
    k8s_leader_elector: str | None = None
    # Events waiting for delivery (bounded; overflow drops the oldest, counted).
    max_pending_events: int = 10000
    # Events per emitted logs request.
    max_batch_size: int = 500

    def validate(self) -> None:
        if self.max_pending_events <= 0:
            raise ConfigError("max_pending_events", "must be positive")
        if self.max_batch_size <= 0:
            raise ConfigError("max_batch_size", "must be positive")
