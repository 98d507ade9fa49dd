"""Soak: a sequence-numbered writer with rotation every few seconds, a gateway outage and an
agent SIGKILL, through the real agent process, otlp exporter and sink. Prints lost/duplicated.

    pytest -m slow -s tests/soak/test_filelog_soak.py
"""
import time

import psutil
import pytest

from collector.sink import Sink
from collector.testing import free_port
from tests.receivers.filelog.process_harness import SeqWriter, accounting, delivered, pod_log, start_agent

RATE = 3000          # lines/s per file
ROTATE_EVERY = 3.0   # seconds, rename + create as the kubelet does


@pytest.mark.slow
def test_filelog_soak_rotation_outage_sigkill(tmp_path):
    root = str(tmp_path)
    port = free_port()
    writers = [SeqWriter(pod_log(root, container=f"c{k}"), rate=RATE, rotate_every=ROTATE_EVERY, prefix=f"c{k}")
               for k in range(2)]
    sink = Sink(grpc=f"127.0.0.1:{port}", http=None, max_kept=1_000_000).start()
    before = None
    agent = start_agent(root, f"127.0.0.1:{port}", start_at="beginning")
    peak = 0
    try:
        for w in writers:
            w.start()

        def watch(seconds):
            nonlocal peak
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                try:
                    peak = max(peak, psutil.Process(agent.proc.pid).memory_info().rss)
                except psutil.Error:
                    pass
                time.sleep(0.5)

        watch(20)
        sink.stop()                       # gateway outage
        before = delivered(sink)          # after stop: a request accepted while stopping counts
        watch(15)
        sink = Sink(grpc=f"127.0.0.1:{port}", http=None, max_kept=1_000_000).start()
        watch(10)
        agent.proc.kill()                 # SIGKILL mid-stream
        agent.proc.wait(10)
        time.sleep(3)
        agent = start_agent(root, f"127.0.0.1:{port}")
        watch(20)
        counts = [w.stop() for w in writers]
        expected = [f"c{k} {i}" for k, n in enumerate(counts) for i in range(n)]
        sink.wait_for(lambda s: len(delivered(s) + before) >= len(expected), 120)
        total = delivered(sink) + before
        lost, dup = accounting(total, expected)
        rotations = sum(w.rotations for w in writers)
        print(f"\nsoak: written={len(expected)} rotations={rotations} lost={lost} duplicated={dup} "
              f"peak_rss={peak / 2**20:.1f}MiB")
        assert lost == 0
    finally:
        for w in writers:
            w.stop()
        agent.terminate()
        agent.kill()
        sink.stop()
