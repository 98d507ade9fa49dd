"""Config of the `filelog` receiver: keys and defaults as otelcol-contrib's filelogreceiver.

Only the `container` operator is supported in `operators`; any other type is a config error
naming the key, not a silent no-op. The same holds for the fileconsumer features this receiver
does not implement (`multiline`, `header`, `compression`, `ordering_criteria`,
`include_file_record_number`/`_offset`, `acquire_fs_lock`, encodings that are not
newline-separated bytes): their keys are known, their default values accepted, and any other
value is an error that says it is not supported, rather than data read differently.
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
                  "on_error", "parse_from", "parse_to", "output", "if", "body", "timestamp",
                  "severity", "trace", "scope_name"}
# helper.ParserConfig keys the container operator inherits but this receiver does not apply:
# only their absence (or null) is accepted.
_UNSUPPORTED_OPERATOR_KEYS = ("if", "body", "timestamp", "severity", "trace", "scope_name")
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
    parse_to = raw.get("parse_to", "attributes")
    if parse_to != "attributes":
        raise ConfigError(f"{path}.parse_to", "only 'attributes' (the default) is supported")
    for key in _UNSUPPORTED_OPERATOR_KEYS:
        if raw.get(key) is not None:
            raise ConfigError(f"{path}.{key}", "is not supported by this receiver's container operator")
    return op


@dataclass
class MultilineConfig:
    line_start_pattern: str = ""
    line_end_pattern: str = ""
    omit_pattern: bool = False


@dataclass
class OrderingCriteria:
    regex: str = ""
    top_n: int | None = None
    sort_by: list[Any] = field(default_factory=list)
    group_by: str = ""


@dataclass
class HeaderConfig:
    pattern: str = ""
    metadata_operators: list[Any] = field(default_factory=list)


@dataclass
class Config:
    include: list[str] = field(default_factory=list)   # globs (doublestar `**` supported)
    exclude: list[str] = field(default_factory=list)
    exclude_older_than: Duration = 0.0                  # 0 = no age filter (by mtime)
    start_at: Literal["end", "beginning"] = "end"        # for files present at the first poll without a checkpoint
    poll_interval: Duration = 0.2
    fingerprint_size: ByteSize = 1000                   # "1kb"
    initial_buffer_size: ByteSize = 16 * 1024           # accepted; reads are chunked anyway
    max_log_size: ByteSize = 1024 * 1024                 # longer entries are split, never dropped
    max_concurrent_files: int = 1024                    # open file handles at once
    max_batches: int = 0                                # accepted; reading is round-robin anyway
    encoding: str = "utf-8"
    include_file_name: bool = True                      # attribute log.file.name
    include_file_path: bool = False                     # attribute log.file.path
    include_file_name_resolved: bool = False            # attribute log.file.name_resolved
    include_file_path_resolved: bool = False            # attribute log.file.path_resolved
    include_file_owner_name: bool = False               # attribute log.file.owner.name
    include_file_owner_group_name: bool = False         # attribute log.file.owner.group.name
    include_file_record_number: bool = False            # not supported: only false
    include_file_record_offset: bool = False            # not supported: only false
    preserve_leading_whitespaces: bool = False          # false: "\r\n\t " trimmed off each line's start
    preserve_trailing_whitespaces: bool = False         # ... and end, as fileconsumer does
    force_flush_period: Duration = 0.5                  # a last line without newline is sent after this
    delete_after_read: bool = False                     # needs the filelog.allowFileDeletion gate: only false
    acquire_fs_lock: bool = False                       # not supported: only false
    compression: str = ""                               # not supported: only "" (plain files)
    multiline: MultilineConfig | None = None            # not supported: only absent
    header: HeaderConfig | None = None                  # not supported: only absent
    ordering_criteria: OrderingCriteria | None = None   # not supported: only absent or empty
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
        if self.max_concurrent_files <= 1:
            # fileconsumer: files are read in two halves of max_concurrent_files.
            raise ConfigError("max_concurrent_files", "must be greater than 1")
        if self.max_batches < 0:
            raise ConfigError("max_batches", "must not be negative")
        if self.delete_after_read:
            # As otelcol without the alpha gate (this collector has no feature gates).
            raise ConfigError("delete_after_read", "requires feature gate filelog.allowFileDeletion, "
                                                   "which this collector does not offer")
        if self.header is not None:
            raise ConfigError("header", "header metadata parsing is not supported by this receiver")
        if self.multiline is not None and (self.multiline.line_start_pattern or self.multiline.line_end_pattern):
            raise ConfigError("multiline", "multiline splitting is not supported by this receiver "
                                           "(lines are split on newlines; the container operator joins CRI partial lines)")
        if self.ordering_criteria is not None and (self.ordering_criteria.regex or self.ordering_criteria.sort_by
                                                   or self.ordering_criteria.group_by):
            raise ConfigError("ordering_criteria", "file ordering is not supported by this receiver")
        if self.compression:
            if self.compression not in ("gzip", "auto"):
                raise ConfigError("compression", f"unknown compression {self.compression!r}: use gzip, auto or none")
            raise ConfigError("compression", "compressed log files are not supported by this receiver")
        for key in ("include_file_record_number", "include_file_record_offset", "acquire_fs_lock"):
            if getattr(self, key):
                raise ConfigError(key, "is not supported by this receiver")
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

    def trim(self) -> tuple[bool, bool]:
        """(trim leading, trim trailing) whitespace of every line, as fileconsumer's trim."""
        return not self.preserve_leading_whitespaces, not self.preserve_trailing_whitespaces

    def codec(self) -> str:
        """The Python codec name; "utf-8" takes the fast path."""
        name = (self.encoding or "utf-8").lower()
        if name in ("", "ascii", "us-ascii", "utf8-raw", "utf-8-raw"):
            return "utf-8"  # decode.LookupEncoding maps these to UTF-8 too
        if name == "nop":
            raise ConfigError("encoding", "encoding 'nop' (bodies as raw bytes) is not supported by this receiver")
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
