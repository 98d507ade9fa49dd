"""Config of the `filelog` receiver: keys and defaults as otelcol-contrib's filelogreceiver.

Only the `container` operator is supported in `operators`; any other type is a config error
naming the key, not a silent no-op.
"""
from __future__ import annotations

import codecs
from dataclasses import dataclass, field
from typing import Any, Literal

from collector.config import ByteSize, ConfigError, Duration, parse_bytesize

from .container import FORMATS

MIN_FINGERPRINT_SIZE = 16  # as fileconsumer: shorter prefixes collide between files


@dataclass
class RetryOnFailure:
    """`retry_on_failure`: the backoff used when the pipeline refuses a batch.

    The collector drops a refused batch when `enabled` is false or after `max_elapsed_time`;
    this receiver never drops (the file is the buffer): it backs off with these intervals and
    tries again while the data is unacknowledged.
    """
    enabled: bool = False
    initial_interval: Duration = 1.0   # first wait after a refusal
    max_interval: Duration = 30.0      # cap of the exponential backoff
    max_elapsed_time: Duration = 300.0  # accepted for compatibility; see the class comment

    def validate(self) -> None:
        if self.initial_interval <= 0:
            raise ConfigError("initial_interval", "must be positive")
        if self.max_interval < self.initial_interval:
            raise ConfigError("max_interval", "must not be less than initial_interval")


@dataclass
class ContainerOperator:
    """The `container` operator (pkg/stanza/operator/parser/container)."""
    type: str = "container"
    id: str = "container"
    format: str = ""                        # "" = detect per line: docker, crio, containerd
    add_metadata_from_filepath: bool = True  # k8s.* resource attributes from the path
    max_log_size: int = 0                    # bound of a joined CRI partial line; 0 = the receiver's max_log_size
    on_error: str = "send"                   # send | send_quiet | drop | drop_quiet
    parse_from: str = "body"


_OPERATOR_KEYS = {"type", "id", "format", "add_metadata_from_filepath", "max_log_size",
                  "on_error", "parse_from", "output"}
_ON_ERROR = ("send", "send_quiet", "drop", "drop_quiet")


def parse_operator(raw: Any, path: str) -> ContainerOperator:
    if not isinstance(raw, dict):
        raise ConfigError(path, "expected a mapping with a `type`")
    op_type = raw.get("type")
    if op_type != "container":
        raise ConfigError(f"{path}.type", f"unsupported operator type {op_type!r}: only 'container' is supported")
    for key in raw:
        if key not in _OPERATOR_KEYS:
            raise ConfigError(f"{path}.{key}", f"unknown key (known keys: {', '.join(sorted(_OPERATOR_KEYS))})")
    op = ContainerOperator()
    op.id = str(raw.get("id", "container"))
    fmt = raw.get("format", "") or ""
    if fmt not in ("",) + FORMATS:
        raise ConfigError(f"{path}.format", f"must be one of docker, crio, containerd, got {fmt!r}")
    op.format = fmt
    amf = raw.get("add_metadata_from_filepath", True)
    if not isinstance(amf, bool):
        raise ConfigError(f"{path}.add_metadata_from_filepath", "expected a boolean")
    op.add_metadata_from_filepath = amf
    try:
        op.max_log_size = parse_bytesize(raw.get("max_log_size", 0))
    except ValueError as e:
        raise ConfigError(f"{path}.max_log_size", str(e)) from None
    on_error = raw.get("on_error", "send")
    if on_error not in _ON_ERROR:
        raise ConfigError(f"{path}.on_error", f"must be one of {', '.join(_ON_ERROR)}, got {on_error!r}")
    op.on_error = on_error
    parse_from = raw.get("parse_from", "body")
    if parse_from != "body":
        raise ConfigError(f"{path}.parse_from", "only 'body' is supported")
    return op


@dataclass
class Config:
    include: list[str] = field(default_factory=list)   # globs (doublestar `**` supported)
    exclude: list[str] = field(default_factory=list)
    exclude_older_than: Duration = 0.0                  # 0 = no age filter (by mtime)
    start_at: Literal["end", "beginning"] = "end"        # for files present at the first poll without a checkpoint
    poll_interval: Duration = 0.2
    fingerprint_size: ByteSize = 1000                   # "1kb"
    max_log_size: ByteSize = 1024 * 1024                 # longer entries are split, never dropped
    max_concurrent_files: int = 1024                    # open file handles at once
    max_batches: int = 0                                # accepted; reading is round-robin anyway
    encoding: str = "utf-8"
    include_file_name: bool = True                      # attribute log.file.name
    include_file_path: bool = False                     # attribute log.file.path
    include_file_name_resolved: bool = False            # attribute log.file.name_resolved
    include_file_path_resolved: bool = False            # attribute log.file.path_resolved
    force_flush_period: Duration = 0.5                  # a last line without newline is sent after this
    storage: str | None = None                          # file_storage extension id for checkpoints
    retry_on_failure: RetryOnFailure = field(default_factory=RetryOnFailure)
    operators: list[Any] = field(default_factory=list)
    attributes: dict[str, str] = field(default_factory=dict)  # added to every record
    resource: dict[str, str] = field(default_factory=dict)    # added to every resource

    def validate(self) -> None:
        if not self.include:
            raise ConfigError("include", "must be specified")
        if self.poll_interval <= 0:
            raise ConfigError("poll_interval", "must be positive")
        if self.fingerprint_size < MIN_FINGERPRINT_SIZE:
            raise ConfigError("fingerprint_size", f"must be at least {MIN_FINGERPRINT_SIZE} bytes")
        if self.max_log_size <= 0:
            raise ConfigError("max_log_size", "must be positive")
        if self.max_concurrent_files < 1:
            raise ConfigError("max_concurrent_files", "must be at least 1")
        if self.force_flush_period < 0:
            raise ConfigError("force_flush_period", "must not be negative")
        if self.exclude_older_than < 0:
            raise ConfigError("exclude_older_than", "must not be negative")
        self.codec()  # raises on an unknown or unsupported encoding
        seen = 0
        for i, raw in enumerate(self.operators):
            parse_operator(raw, f"operators[{i}]")
            seen += 1
        if seen > 1:
            raise ConfigError("operators", "at most one container operator is supported")

    def codec(self) -> str:
        """The Python codec name; "utf-8" takes the fast path."""
        name = (self.encoding or "utf-8").lower()
        try:
            info = codecs.lookup(name)
        except LookupError:
            raise ConfigError("encoding", f"unknown encoding {self.encoding!r}") from None
        # Lines are split on the byte 0x0A, which only ASCII-compatible encodings allow.
        if info.name.startswith(("utf-16", "utf-32")):
            raise ConfigError("encoding", f"unsupported encoding {self.encoding!r}: lines must be newline-separated bytes")
        return info.name

    def container_operator(self) -> ContainerOperator | None:
        for i, raw in enumerate(self.operators):
            return parse_operator(raw, f"operators[{i}]")
        return None
