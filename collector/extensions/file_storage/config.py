from __future__ import annotations

from dataclasses import dataclass, field

from ...config import ConfigError, Duration


DEFAULT_DIRECTORY = "/var/lib/otelcol/file_storage"


@dataclass
class CompactionConfig:
    """`compaction`. on_start runs SQLite's VACUUM at start (in place: `directory` and the
    transaction / rebound keys tune bbolt's copy-compaction and have no effect on SQLite)."""
    on_start: bool = False
    on_rebound: bool = False
    directory: str = DEFAULT_DIRECTORY
    max_transaction_size: int = 65536
    rebound_needed_threshold_mib: int = 100
    rebound_trigger_threshold_mib: int = 10
    check_interval: Duration = 5.0
    cleanup_on_start: bool = False

    def validate(self) -> None:
        if self.max_transaction_size < 0:
            raise ConfigError("max_transaction_size", "max transaction size for compaction cannot be less than 0")
        if self.on_rebound and self.check_interval <= 0:
            raise ConfigError("check_interval", "compaction check interval must be positive when rebound compaction is set")


@dataclass
class Config:
    directory: str = DEFAULT_DIRECTORY
    timeout: Duration = 1.0          # how long an operation waits for a lock held elsewhere
    create_directory: bool = False
    directory_permissions: str = "0750"
    fsync: bool = False              # fsync every commit (WAL synchronous=FULL)
    compaction: CompactionConfig = field(default_factory=CompactionConfig)

    def validate(self) -> None:
        if not self.directory:
            raise ConfigError("directory", "is required")
        if self.create_directory:  # as otelcol: only checked when it is used
            try:
                mode = int(str(self.directory_permissions), 8)
            except ValueError:
                raise ConfigError("directory_permissions", f"must be an octal mode like 0750, got {self.directory_permissions!r}") from None
            if mode & 0o777 != mode:
                raise ConfigError("directory_permissions", "contains invalid bits for file access")
