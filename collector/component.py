"""The component model every receiver, processor, exporter and extension plugs into.

It mirrors the OpenTelemetry Collector's (Go) component package: factories create components
from validated configs; consumers have one method; data belongs to the callee once passed.
See collector/README.md for the contract in prose.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

SIGNALS = ("logs", "metrics", "traces")
KINDS = ("receiver", "processor", "exporter", "extension")

Ack = Callable[[bool], None]


class Refused(Exception):
    """Retryable refusal (memory pressure, full queue): gRPC UNAVAILABLE / HTTP 503."""


class PermanentError(Exception):
    """The data can never be accepted: gRPC INVALID_ARGUMENT / HTTP 400."""


class Payload:
    """One OTLP export request on its way through a pipeline, with its acknowledgements."""

    __slots__ = ("signal", "request", "acks", "client_addr")

    def __init__(self, signal: str, request: Any, acks: list[Ack] | None = None,
                 client_addr: str | None = None) -> None:
        self.signal = signal
        self.request = request
        self.acks = acks if acks is not None else []
        self.client_addr = client_addr

    def ack(self, delivered: bool) -> None:
        """Fire every ack once. Never raises: one receiver's bug must not break an exporter."""
        acks, self.acks = self.acks, []
        for a in acks:
            try:
                a(delivered)
            except Exception:  # pragma: no cover - defensive
                logging.getLogger("collector").exception("ack callback failed")

    def __repr__(self) -> str:
        return f"Payload({self.signal}, acks={len(self.acks)}, client_addr={self.client_addr!r})"


class AckJoin:
    """Splits one set of acks into n parts; the parents fire once all n parts reported.

    Used by fan-out (one payload to n consumers) and by splitting (one payload into n batches).
    The parents get True only if every part was delivered.
    """

    __slots__ = ("_remaining", "_ok", "_parents", "_lock")

    def __init__(self, n: int, parents: list[Ack]) -> None:
        self._remaining = n
        self._ok = True
        self._parents = parents
        self._lock = threading.Lock()
        if n == 0:
            self._fire()

    def part(self) -> Ack:
        done = [False]

        def ack(delivered: bool) -> None:
            with self._lock:
                if done[0]:
                    return  # an ack fired twice is a bug elsewhere; never double-count
                done[0] = True
                self._ok = self._ok and delivered
                self._remaining -= 1
                last = self._remaining == 0
            if last:
                self._fire()

        return ack

    def parts(self) -> list[Ack]:
        return [self.part() for _ in range(self._remaining)]

    def _fire(self) -> None:
        Payload("", None, self._parents).ack(self._ok)


class Consumer(Protocol):
    def consume(self, payload: Payload) -> None: ...


class Component:
    """Base class: start must not block; shutdown flushes before the monotonic deadline."""

    def start(self, host: "Host") -> None:
        pass

    def shutdown(self, deadline: float) -> None:
        pass


@dataclass(frozen=True, order=True)
class ComponentID:
    type: str
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> "ComponentID":
        if not isinstance(text, str) or not text.strip():
            raise ValueError("component id must be a non-empty string like 'type' or 'type/name'")
        type_, _, name = text.strip().partition("/")
        if not type_ or ("/" in text and not name):
            raise ValueError(f"invalid component id {text!r}: expected 'type' or 'type/name'")
        return cls(type_, name)

    def __str__(self) -> str:
        return f"{self.type}/{self.name}" if self.name else self.type


@dataclass
class BuildInfo:
    command: str = "skuber-collector"
    description: str = "skuber agent: pure-Python OpenTelemetry collector"
    version: str = "0.1.0"


@dataclass
class CreateSettings:
    id: ComponentID
    kind: str
    logger: logging.Logger
    telemetry: Any  # collector.telemetry.ComponentTelemetry
    clock: Callable[[], float] = time.time
    build_info: BuildInfo = field(default_factory=BuildInfo)


class Host(Protocol):
    telemetry: Any

    def get_extension(self, component_id: str) -> Component: ...

    def report_status(self, component_id: str, healthy: bool, message: str = "") -> None: ...


@dataclass(frozen=True)
class ReceiverFactory:
    type: str
    config_class: type
    signals: frozenset
    create: Callable[..., Component]  # (settings, config, consumers: dict[str, Consumer])
    kind: str = "receiver"


@dataclass(frozen=True)
class ProcessorFactory:
    type: str
    config_class: type
    signals: frozenset
    create: Callable[..., Component]  # (settings, config, signal, next_consumer)
    kind: str = "processor"


@dataclass(frozen=True)
class ExporterFactory:
    type: str
    config_class: type
    signals: frozenset
    create: Callable[..., Component]  # (settings, config, signals: frozenset)
    kind: str = "exporter"


@dataclass(frozen=True)
class ExtensionFactory:
    type: str
    config_class: type
    create: Callable[..., Component]  # (settings, config)
    kind: str = "extension"
    signals: frozenset = frozenset()
