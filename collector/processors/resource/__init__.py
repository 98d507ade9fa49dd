"""`resource` processor: insert/update/upsert/delete/hash/convert resource attributes."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

from ... import pdata
from ...component import Component, ProcessorFactory, SIGNALS
from ...config import ConfigError

ACTIONS = ("insert", "update", "upsert", "delete", "hash", "extract", "convert")


@dataclass
class AttributeAction:
    """One entry of `attributes`, validated as otelcol's attraction.NewAttrProc does."""
    key: str = ""
    action: str = ""                     # required; any case, as otelcol lower-cases it
    value: Any = None
    from_attribute: str = ""
    from_context: str = ""
    pattern: str = ""
    converted_type: str = ""

    def validate(self) -> None:
        self.action = str(self.action).lower()
        if self.action not in ACTIONS:
            raise ConfigError("action", f"unsupported action {self.action!r}: use one of {', '.join(ACTIONS)}")
        if self.action in ("delete", "hash"):
            if not self.key and not self.pattern:
                raise ConfigError("key", f"action {self.action!r} needs key, pattern or both")
        elif not self.key:
            raise ConfigError("key", "is required")
        sources = sum([self.value is not None, bool(self.from_attribute), bool(self.from_context)])
        if self.action in ("insert", "update", "upsert"):
            if sources != 1:
                raise ConfigError("value", f"action {self.action!r} needs exactly one of value, from_attribute, from_context")
            if self.pattern:
                raise ConfigError("pattern", f"action {self.action!r} does not use pattern")
        elif self.action in ("delete", "hash"):
            if self.value is not None or self.from_attribute:
                raise ConfigError("value", f"action {self.action!r} does not use value or from_attribute")
        elif sources:
            raise ConfigError("value", f"action {self.action!r} does not use value, from_attribute or from_context")
        if self.pattern:
            try:
                groups = re.compile(self.pattern).groupindex
            except re.error as e:
                raise ConfigError("pattern", f"invalid regular expression: {e}") from None
            if self.action == "extract":
                n = re.compile(self.pattern).groups
                if not groups:
                    raise ConfigError("pattern", "needs at least one named group (?P<name>...)")
                if len(groups) != n:
                    raise ConfigError("pattern", "every group must be named (?P<name>...)")
        elif self.action == "extract":
            raise ConfigError("pattern", "action 'extract' needs a pattern with named groups")
        if self.action == "convert":
            if self.converted_type not in ("int", "double", "string"):
                raise ConfigError("converted_type", "must be int, double or string")
        elif self.converted_type:
            raise ConfigError("converted_type", f"action {self.action!r} does not use converted_type")
        # from_context: client.address is the connection's peer. metadata.<key> and auth.<attr>
        # (and a bare key, otelcol's fallback to metadata) find nothing, as in otelcol with
        # include_metadata off and no authenticator: receivers here carry no client metadata.


@dataclass
class Config:
    attributes: list[AttributeAction] = field(default_factory=list)

    def validate(self) -> None:
        if not self.attributes:
            raise ConfigError("attributes", "at least one action is required")


def _convert(value, to: str):
    try:
        if to == "int":
            return int(float(value)) if not isinstance(value, bool) else int(value)
        if to == "double":
            return float(value)
        return str(value).lower() if isinstance(value, bool) else str(value)
    except (TypeError, ValueError):
        return None


def apply_actions(attrs, actions: list[AttributeAction], client_addr: str | None = None) -> None:
    for a in actions:
        existing = pdata.find_attr(attrs, a.key) if a.key else None
        if a.action in ("insert", "update", "upsert"):
            if a.action == "insert" and existing is not None:
                continue
            if a.action == "update" and existing is None:
                continue
            if a.from_attribute:
                src = pdata.find_attr(attrs, a.from_attribute)
                if src is None:
                    continue
                value = pdata.any_value_to_python(src.value)
            elif a.from_context:
                if a.from_context != "client.address" or client_addr is None:
                    continue
                value = client_addr
            else:
                value = a.value
            pdata.set_attr(attrs, a.key, value)
        elif a.action == "delete":
            if a.key:
                pdata.delete_attr(attrs, a.key)
            if a.pattern:
                # Go's regexp.MatchString: the pattern matches anywhere in the key unless anchored.
                rx = re.compile(a.pattern)
                for kv in [kv for kv in attrs if rx.search(kv.key)]:
                    pdata.delete_attr(attrs, kv.key)
        elif a.action == "hash":
            keys = [a.key] if existing is not None else []
            if a.pattern:
                rx = re.compile(a.pattern)
                keys += [kv.key for kv in attrs if rx.search(kv.key) and kv.key not in keys]
            for key in keys:
                raw = pdata.any_value_to_python(pdata.find_attr(attrs, key).value)
                # SHA-256 hex, as the collector's attraction hash since v0.104.
                pdata.set_attr(attrs, key, hashlib.sha256(str(raw).encode()).hexdigest())
        elif a.action == "extract" and existing is not None:
            m = re.search(a.pattern, str(pdata.any_value_to_python(existing.value)))
            if m:
                for name, val in m.groupdict().items():
                    if val is not None:
                        pdata.set_attr(attrs, name, val)
        elif a.action == "convert" and existing is not None:
            value = _convert(pdata.any_value_to_python(existing.value), a.converted_type)
            if value is not None:
                pdata.set_attr(attrs, a.key, value)


class ResourceProcessor(Component):
    def __init__(self, settings, config: Config, signal: str, next_consumer) -> None:
        self.config = config
        self.signal = signal
        self.next = next_consumer

    def consume(self, payload) -> None:
        for rs in pdata.resources(self.signal, payload.request):
            apply_actions(rs.resource.attributes, self.config.attributes, payload.client_addr)
        self.next.consume(payload)


def create(settings, config, signal, next_consumer):
    return ResourceProcessor(settings, config, signal, next_consumer)


factory = ProcessorFactory(type="resource", config_class=Config, signals=frozenset(SIGNALS), create=create)
