"""The real in-process OTLP sink as a fixture, for every exporter test."""
from __future__ import annotations

import pytest


@pytest.fixture
def sink():
    from collector.sink import Sink

    s = Sink(grpc="127.0.0.1:0", http="127.0.0.1:0")
    s.start()
    yield s
    s.stop()
