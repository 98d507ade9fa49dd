"""Fixtures for the hostmetrics tests live in fixture_node.py (importable by the tests too)."""
from tests.receivers.hostmetrics.fixture_node import (attrs_of, clock, make, node_copy,  # noqa: F401
                                                      node_fs, scrape)
