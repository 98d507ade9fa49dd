from __future__ import annotations

from dataclasses import dataclass

from ...config import ConfigError, Duration


@dataclass
class Config:
    check_interval: Duration = 0.0        # required, > 0 (1s is the usual value)
    limit_mib: int = 0                    # hard limit in MiB; or limit_percentage
    spike_limit_mib: int = 0              # default 20% of the limit
    limit_percentage: int = 0             # of the cgroup limit, else of total memory
    spike_limit_percentage: int = 0
    min_gc_interval_when_soft_limited: Duration = 10.0  # GC at most this often while above soft
    min_gc_interval_when_hard_limited: Duration = 0.0   # ... and while above hard (0: every check)

    def validate(self) -> None:
        if self.check_interval <= 0:
            raise ConfigError("check_interval", "must be greater than zero")
        if self.limit_mib < 0 or self.spike_limit_mib < 0:
            raise ConfigError("limit_mib", "must not be negative")
        if self.limit_mib == 0 and self.limit_percentage == 0:
            raise ConfigError("limit_mib", "either limit_mib or limit_percentage must be set (greater than zero)")
        if self.limit_mib and self.spike_limit_mib >= self.limit_mib:
            raise ConfigError("spike_limit_mib", "must be smaller than limit_mib")
        if self.min_gc_interval_when_soft_limited < self.min_gc_interval_when_hard_limited:
            raise ConfigError("min_gc_interval_when_soft_limited", "must be greater than or equal to min_gc_interval_when_hard_limited")
        if not 0 <= self.limit_percentage <= 100:
            raise ConfigError("limit_percentage", "must be between 0 and 100")
        if not 0 <= self.spike_limit_percentage <= 100:
            raise ConfigError("spike_limit_percentage", "must be between 0 and 100")
        if self.limit_percentage and self.spike_limit_percentage >= self.limit_percentage:
            raise ConfigError("spike_limit_percentage", "must be smaller than limit_percentage")
