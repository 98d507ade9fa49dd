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
        seen = set()
        for key in self.metadata_keys:
            low = str(key).lower()
            if low in seen:
                raise ConfigError("metadata_keys", f"duplicate entry in metadata_keys: {low!r} (case-insensitive)")
            seen.add(low)
        if self.metadata_cardinality_limit < 0:
            raise ConfigError("metadata_cardinality_limit", "must not be negative")
        # metadata_keys is accepted as otelcol accepts it. Receivers here do not carry client
        # metadata with the data (as otelcol's with include_metadata: false), so every request
        # has the same, empty, values for these keys: one batch, exactly as otelcol batches then.
