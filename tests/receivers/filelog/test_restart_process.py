"""Restarts of the real agent process: clean restart, SIGKILL, gateway outage."""
import time

import psutil

from collector.sink import Sink
from collector.testing import free_port

from .process_harness import SeqWriter, accounting, cri_lines, delivered, pod_log, start_agent


def expected(a, b):
    return [f"seq {i}" for i in range(a, b)]


def test_clean_restart_loses_and_repeats_nothing(tmp_path):
    root = str(tmp_path)
    path = pod_log(root)
    with open(path, "w") as f:
        f.write(cri_lines(0, 2000))
    with Sink(grpc="127.0.0.1:0", http=None) as sink:
        a = start_agent(root, sink.grpc_endpoint, start_at="beginning")
        try:
            assert sink.wait_for(lambda s: s.count("logs") >= 2000, 30), a.output[-2000:]
            with open(path, "a") as f:
                f.write(cri_lines(2000, 2500))
            time.sleep(0.3)
            rc, _ = a.terminate()
            assert rc == 0
        finally:
            a.kill()
        with open(path, "a") as f:  # written while the agent is down
            f.write(cri_lines(2500, 3000))
        a = start_agent(root, sink.grpc_endpoint)
        try:
            assert sink.wait_for(lambda s: s.count("logs") >= 3000, 30), a.output[-2000:]
            time.sleep(1.0)  # a duplicate would arrive by now
            lost, dup = accounting(delivered(sink), expected(0, 3000))
            assert (lost, dup) == (0, 0)
            assert sink.count("logs") == 3000
        finally:
            a.terminate()
            a.kill()


def test_sigkill_mid_stream_loses_nothing(tmp_path):
    root = str(tmp_path)
    w = SeqWriter(pod_log(root), rate=5000).start()
    with Sink(grpc="127.0.0.1:0", http=None) as sink:
        a = start_agent(root, sink.grpc_endpoint, start_at="beginning")
        try:
            assert sink.wait_for(lambda s: s.count("logs") >= 3000, 30)
            a.proc.kill()  # SIGKILL: no flush, no final checkpoint
            a.proc.wait(10)
            time.sleep(0.5)
            a = start_agent(root, sink.grpc_endpoint)
            time.sleep(1.0)
            n = w.stop()
            assert sink.wait_for(lambda s: len(delivered(s)) >= n, 30), a.output[-2000:]
            lost, dup = accounting(delivered(sink), expected(0, n))
            print(f"sigkill: written={n} lost={lost} duplicated={dup}")
            assert lost == 0
        finally:
            w.stop()
            a.terminate()
            a.kill()


def test_gateway_outage_loses_nothing_and_memory_stays_bounded(tmp_path):
    root = str(tmp_path)
    port = free_port()
    w = SeqWriter(pod_log(root), rate=3000).start()
    sink = Sink(grpc=f"127.0.0.1:{port}", http=None).start()
    a = start_agent(root, f"127.0.0.1:{port}", start_at="beginning")
    try:
        assert sink.wait_for(lambda s: s.count("logs") >= 1000, 30)
        sink.stop()
        before = delivered(sink)  # after stop: a request accepted while stopping counts
        proc = psutil.Process(a.proc.pid)
        peak = 0
        t_end = time.monotonic() + 30  # the gateway is down for 30 s while the writer goes on
        while time.monotonic() < t_end:
            peak = max(peak, proc.memory_info().rss)
            time.sleep(0.5)
        sink = Sink(grpc=f"127.0.0.1:{port}", http=None).start()
        n = w.stop()
        assert sink.wait_for(lambda s: len(delivered(s)) + len(before) >= n, 60), a.output[-2000:]
        total = delivered(sink) + before
        lost, dup = accounting(total, expected(0, n))
        print(f"outage: written={n} lost={lost} duplicated={dup} peak_rss={peak / 2**20:.1f}MiB")
        assert lost == 0
        assert peak < 150 * 2**20
    finally:
        w.stop()
        a.terminate()
        a.kill()
        sink.stop()
