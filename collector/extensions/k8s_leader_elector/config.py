"""k8s_leader_elector extension config, keys as otelcol-contrib's k8sleaderelector."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from collector.config import ConfigError, Duration


@dataclass
class Config:
    auth_type: Literal["none", "serviceAccount", "kubeConfig"] = "serviceAccount"
    context: str = ""
    # The coordination.k8s.io/v1 Lease both replicas compete for; both must be set.
    lease_name: str = ""
    lease_namespace: str = ""
    # How long a lease is honoured without renewal before another candidate may take it.
    lease_duration: Duration = Duration(15.0)
    # A leader that could not renew for this long stops leading (must be < lease_duration).
    renew_deadline: Duration = Duration(10.0)
    # Pause between acquire / renew attempts.
    retry_period: Duration = Duration(2.0)

    def validate(self) -> None:
        if not self.lease_name or not self.lease_namespace:
            raise ValueError("lease name and namespace must be set")
        if not self.lease_duration > self.renew_deadline:
            raise ConfigError("renew_deadline", "must be shorter than lease_duration")
        # client-go's NewLeaderElector: renewDeadline must exceed retryPeriod*JitterFactor (1.2).
        if not self.retry_period > 0 or not self.renew_deadline > 1.2 * self.retry_period:
            raise ConfigError("retry_period", "must be positive, and renew_deadline greater than 1.2 x retry_period")
