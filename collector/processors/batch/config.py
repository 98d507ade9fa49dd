from __future__ import annotations

from dataclasses import dataclass, field

from ...config import ConfigError, Duration


@dataclass
class Config:
    timeout: Duration = 0.2               # send a partial batch after this long; 0 = no time trigger
    send_batch_size: int = 8192           # items that trigger a send
    send_batch_max_size: int = 0          # upper bound of a batch; 0 = no bound
    metadata_keys: list[str] = field(default_factory=list)
    metadata_cardinality_limit: int = 1000

    def validate(self) -> None:
        if self.send_batch_size < 0:
            raise ConfigError("send_batch_size", "must not be negative")
        if self.send_batch_max_size < 0:
            raise ConfigError("send_batch_max_size", "must not be negative")
        if self.send_batch_max_size and self.send_batch_max_size < self.send_batch_size:
            raise ConfigError("send_batch_max_size", "must be greater or equal to send_batch_size")
        if self.timeout < 0:
            raise ConfigError("timeout", "must not be negative")
        if self.metadata_keys:
            # Batching by client metadata needs request headers in the payload, which we do not carry.
            raise ConfigError("metadata_keys", "batching by client metadata is not supported by this collector")
