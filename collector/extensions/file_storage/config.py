from __future__ import annotations

from dataclasses import dataclass, field

from ...config import ConfigError, Duration


@dataclass
class CompactionConfig:
    on_start: bool = False
    on_rebound: bool = False
    directory: str = ""
    max_transaction_size: int = 65536
    rebound_needed_threshold_mib: int = 100
    rebound_trigger_threshold_mib: int = 10
    check_interval: Duration = 5.0
    cleanup_on_start: bool = False


@dataclass
class Config:
    directory: str = "/var/lib/otelcol/file_storage"
    timeout: Duration = 1.0          # how long an operation waits for a lock held elsewhere
    create_directory: bool = False
    directory_permissions: str = "0750"
    fsync: bool = False              # fsync every commit (WAL synchronous=FULL)
    compaction: CompactionConfig = field(default_factory=CompactionConfig)

    def validate(self) -> None:
        if not self.directory:
            raise ConfigError("directory", "is required")
        try:
            int(self.directory_permissions, 8)
        except ValueError:
            raise ConfigError("directory_permissions", f"must be an octal mode like 0750, got {self.directory_permissions!r}")
