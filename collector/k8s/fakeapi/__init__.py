"""A fake Kubernetes API server for tests (and by hand: `python -m collector.k8s.fakeapi`)."""

from collector.k8s.fakeapi.server import FakeAPIServer

__all__ = ["FakeAPIServer"]
