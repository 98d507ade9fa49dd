"""Acknowledged delivery: commit after ack, re-read after a failed delivery, bounded in flight."""
import time

from collector.testing import wait_until

from .harness import OP, Host, RecordingConsumer, expect, lines, make_receiver, pod_file, running, stop, write

FAST_RETRY = {"retry_on_failure": {"initial_interval": "20ms", "max_interval": "100ms"}}


def start(tmp_path, c, storage=True, raw=None, **kw):
    host = Host(tmp_path / "state" if storage else None)
    cfg = {"include": [str(tmp_path / "pods/*/*/*.log")], "start_at": "beginning", "operators": OP, **FAST_RETRY}
    cfg.update(raw or {})
    return host, make_receiver(c, host, cfg, **kw)


def test_clean_restart_repeats_nothing_and_loses_nothing(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 100)
    c1 = RecordingConsumer()
    host, r = start(tmp_path, c1)
    assert wait_until(lambda: c1.count() >= 100)
    stop(r)
    host.close()
    write(f, 100, 150)
    c2 = RecordingConsumer()
    with running(start(tmp_path, c2, raw={"start_at": "end"})) as (host, r):
        assert expect(c2, 50) == lines(100, 150)
        assert sorted(c1.bodies() + c2.bodies(), key=lambda b: int(b.split()[1])) == lines(0, 150)


def test_unacknowledged_data_is_sent_again_after_restart(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 30)
    c1 = RecordingConsumer("hold")
    host, r = start(tmp_path, c1)
    assert wait_until(lambda: c1.count() >= 30)
    r.shutdown(time.monotonic() + 0.2)  # acks never came: nothing may be committed
    host.close()
    c2 = RecordingConsumer()
    with running(start(tmp_path, c2)) as (host, r):
        assert expect(c2, 30) == lines(0, 30)


def test_acks_after_shutdown_still_commit(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 20)
    c1 = RecordingConsumer("hold")
    host, r = start(tmp_path, c1)
    assert wait_until(lambda: c1.count() >= 20)
    r.shutdown(time.monotonic() + 0.2)
    c1.release(True)  # the exporter flushed during its own shutdown, after the receiver stopped
    host.close()
    write(f, 20, 25)
    c2 = RecordingConsumer()
    with running(start(tmp_path, c2)) as (host, r):
        assert expect(c2, 5) == lines(20, 25)


def test_failed_delivery_rereads_from_committed_offset(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 40)
    c = RecordingConsumer("hold")
    with running(start(tmp_path, c, read_chunk=1000)) as (host, r):
        assert wait_until(lambda: len(c.held) >= 2)
        c.release(True, 1)  # first batch delivered
        c.release(False)    # the rest dropped downstream
        c.mode = "ack"
        assert wait_until(lambda: set(c.bodies(delivered=True)) >= set(lines(0, 40)), 10)
        assert sorted(set(c.bodies(delivered=True)), key=lambda b: int(b.split()[1])) == lines(0, 40)
        assert host.telemetry.value("skuber_filelog_rewinds_total", {"receiver": "filelog"}) >= 1
        assert wait_until(lambda: r.readers and r.readers[0].committed == f.stat().st_size, 5)


def test_refused_batches_are_retried_without_loss_or_duplicates(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 30)
    c = RecordingConsumer(refuse_times=3)
    with running(start(tmp_path, c)) as (host, r):
        assert expect(c, 30) == lines(0, 30)
        assert c.refused == 3
        assert host.telemetry.value("otelcol_receiver_refused_log_records_total",
                                    {"receiver": "filelog", "transport": ""}) > 0


def test_unacknowledged_data_is_bounded(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 2000)
    c = RecordingConsumer("hold")
    with running(start(tmp_path, c, read_chunk=4096, max_inflight_batches=3)) as (host, r):
        assert wait_until(lambda: len(c.payloads) >= 3)
        time.sleep(0.3)
        assert len(c.payloads) == 3  # reading stopped: the file is the buffer
        deadline = time.monotonic() + 20
        while c.count() < 2000 and time.monotonic() < deadline:
            if not c.release():
                time.sleep(0.005)
        c.release()
        assert expect(c, 2000) == lines(0, 2000)


def test_partial_sequence_is_never_split_by_a_restart(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 5)
    write(f, 5, 8, tag="P")  # an unfinished long line
    c1 = RecordingConsumer()
    host, r = start(tmp_path, c1)
    assert expect(c1, 5) == lines(0, 5)
    stop(r)
    host.close()
    write(f, 8, 9)
    c2 = RecordingConsumer()
    with running(start(tmp_path, c2)) as (host, r):
        assert expect(c2, 1) == ["line 5line 6line 7line 8"]


def test_missing_newline_at_eof_is_flushed_after_force_flush_period(tmp_path):
    f = pod_file(tmp_path)
    f.write_text("2023-06-22T10:27:25.813799277Z stdout F no newline")
    c = RecordingConsumer()
    with running(start(tmp_path, c, raw={"force_flush_period": "100ms"})) as (host, r):
        assert wait_until(lambda: c.count() >= 1, 5)
        assert c.bodies() == ["no newline"]


def test_long_lines_are_split_not_dropped(tmp_path):
    f = pod_file(tmp_path, "plain.log")
    f.write_bytes(b"a" * 2500 + b"\nshort\n")
    c = RecordingConsumer()
    host = Host(None)
    r = make_receiver(c, host, {"include": [str(f)], "start_at": "beginning", "max_log_size": 1000})
    try:
        assert wait_until(lambda: c.count() >= 4, 5)
        assert c.bodies() == ["a" * 1000, "a" * 1000, "a" * 500, "short"]
        assert c.records()[0][1].attributes[0].key == "log.file.name"
    finally:
        stop(r)


def test_quiet_file_is_not_starved_by_a_busy_one(tmp_path):
    busy = pod_file(tmp_path, "0.log", "busy")
    write(busy, 0, 20000)
    quiet = pod_file(tmp_path, "0.log", "quiet")
    quiet.write_text("2023-06-22T10:27:25.813799277Z stdout F quiet line\n")
    c = RecordingConsumer()
    host, r = start(tmp_path, c, storage=False, read_chunk=16384)
    try:
        assert wait_until(lambda: c.count() >= 20001, 20)
        order = c.bodies()
        assert order.index("quiet line") < 1000
    finally:
        stop(r)


def test_backpressure_shares_the_room_between_files(tmp_path):
    a = pod_file(tmp_path, "0.log", "a")
    b = pod_file(tmp_path, "0.log", "b")
    write(a, 0, 3000)
    write(b, 10000, 13000)
    c = RecordingConsumer("hold")
    host, r = start(tmp_path, c, storage=False, read_chunk=2048, max_inflight_batches=1)
    try:
        for _ in range(20):  # twenty batches, one in flight at a time
            assert wait_until(lambda: len(c.held) >= 1, 5)
            c.release()
        files = {a_["k8s.container.name"] for a_, _ in c.records()}
        assert files == {"a", "b"}
        per_file = [sum(1 for a_, _ in c.records() if a_["k8s.container.name"] == n) for n in ("a", "b")]
        assert min(per_file) > 0.3 * max(per_file)
    finally:
        c.mode = "ack"
        c.release()
        stop(r)


class SyncNackOnce(RecordingConsumer):
    """Acks False inside consume (without raising) the first time, as a queue that dropped it."""

    def __init__(self):
        super().__init__()
        self.nacked = 0

    def consume(self, payload):
        if self.nacked == 0:
            self.nacked += 1
            payload.ack(False)
            return
        super().consume(payload)


def test_synchronous_nack_is_read_again(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 20)
    c = SyncNackOnce()
    with running(start(tmp_path, c)) as (host, r):
        assert expect(c, 20) == lines(0, 20)
        assert c.nacked == 1


class Permanent(RecordingConsumer):
    def consume(self, payload):
        from collector.component import PermanentError
        payload.ack(False)
        raise PermanentError("schema rejected")


def test_permanent_error_is_counted_as_dropped_and_reading_moves_on(tmp_path):
    f = pod_file(tmp_path)
    write(f, 0, 20)
    c = Permanent()
    with running(start(tmp_path, c)) as (host, r):
        assert wait_until(lambda: host.telemetry.value(
            "skuber_dropped_items_total", {"component": "receiver/filelog", "signal": "logs",
                                           "reason": "permanent_error"}) == 20, 5)
        assert wait_until(lambda: r.readers and r.readers[0].committed == f.stat().st_size, 5)
