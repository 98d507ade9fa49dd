"""Fixtures for the operator tests (builders live in operator_pods.py)."""

import pytest

from collector.operator.instrumentation import parse
from collector.operator.mutator import Mutator
from collector.operator.store import FileStore
from tests.operator.operator_pods import CHART_NS, instrumentation_object


@pytest.fixture
def store():
    return FileStore([parse(instrumentation_object())])


@pytest.fixture
def mutator(store):
    return Mutator(store, CHART_NS)
