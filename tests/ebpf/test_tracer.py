"""BpfTracer without a loaded program: what happens when a handler fails."""
from __future__ import annotations

from ebpf import bpf_program
from ebpf.tracer import BpfTracer


def test_a_failing_event_handler_is_counted_as_a_lost_event():
    lost = []

    def broken(event):
        raise ValueError("a handler bug")

    tracer = BpfTracer(bpf_program.ProgramOptions(), [], "", on_tcp=broken,
                       count_drop=lambda reason, n: lost.append((reason, n)))
    tracer.bpf = {"tcp_events": type("Ring", (), {"event": staticmethod(lambda data: data)})()}
    assert tracer._tcp_cb(None, b"event", 5) == 0  # the poll thread goes on
    assert lost == [("handler_error", 1)]
