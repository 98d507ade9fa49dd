"""The `filelog` receiver: tails files, parses container logs, delivers with acknowledgements.

One thread polls (every poll_interval), reads the tracked files round-robin (one chunk per file
per round, so a busy container cannot starve a quiet one), encodes one batch per file read and
hands it to the pipeline. Delivery is acknowledged like Vector's, not like the collector's:
a file offset is committed only after every record before it was acknowledged by every
exporter. A clean restart therefore repeats and loses nothing; a crash may repeat the
unacknowledged tail. Unacknowledged bytes are bounded: when the gateway is down, reading stops
and the files are the buffer.
"""
from __future__ import annotations

import os
import threading
import time

from collector.component import Component, Payload, PermanentError, Refused
from collector.pdata import REQUEST_TYPES

from . import otlp_encoding as enc
from .checkpoints import CheckpointStore
from .config import Config
from .discovery import find_candidates
from .file_reader import FileReader
from .file_tracker import match_poll
from .k8s_path import k8s_attributes
from .line_batch import LineStats, encode_lines, flush_partial
from .receiver_metrics import ReceiverMetrics

ExportLogsServiceRequest = REQUEST_TYPES["logs"]

# One batch per file per round. ~8k CRI lines: at least the batch processor's default
# send_batch_size, so it forwards our payload as is instead of copying it into a merge.
READ_CHUNK = 1024 * 1024
# Encoded bytes handed over but not yet acknowledged. Past this, reading waits: during a
# gateway outage the files are the buffer and memory stays flat.
MAX_INFLIGHT_BYTES = 8 * 1024 * 1024
MAX_INFLIGHT_BATCHES = 64
PARTIAL_FLUSH_AFTER = 5.0          # recombine's force_flush_period: a P sequence without F
COMMIT_EVERY = 0.1                 # seconds between checkpoint transactions
DETACHED_POLLS = 3                 # polls a truncated file's reader waits for its copy


class _Attempt:
    """One hand-over of a batch to the pipeline; a refused attempt's acks are ignored."""

    __slots__ = ("reader", "generation", "batch", "data", "cancelled", "in_consume", "sync_failed")

    def __init__(self, reader, generation, batch, data):
        self.reader, self.generation, self.batch, self.data = reader, generation, batch, data
        self.cancelled = False
        self.in_consume = True
        self.sync_failed = False


def _owner_attributes(fd: int, name: bool, group: bool) -> list[tuple[str, str]]:
    """log.file.owner.name / log.file.owner.group.name of an open file (attrs.Resolver); an id
    without a passwd/group entry is given as the number."""
    import grp
    import pwd

    st = os.fstat(fd)
    out = []
    if name:
        try:
            out.append(("log.file.owner.name", pwd.getpwuid(st.st_uid).pw_name))
        except KeyError:
            out.append(("log.file.owner.name", str(st.st_uid)))
    if group:
        try:
            out.append(("log.file.owner.group.name", grp.getgrgid(st.st_gid).gr_name))
        except KeyError:
            out.append(("log.file.owner.group.name", str(st.st_gid)))
    return out


class FilelogReceiver(Component):
    def __init__(self, settings, config: Config, consumer, *, read_chunk: int = READ_CHUNK,
                 max_inflight_bytes: int = MAX_INFLIGHT_BYTES,
                 max_inflight_batches: int = MAX_INFLIGHT_BATCHES) -> None:
        self.settings = settings
        self.config = config
        self.consumer = consumer
        self.log = settings.logger
        self.clock = settings.clock
        self.op = config.container_operator()
        self.codec = config.codec()
        self.trim = config.trim()
        self.read_chunk = read_chunk
        self.max_inflight_bytes = max_inflight_bytes
        self.max_inflight_batches = max_inflight_batches
        self.metrics = ReceiverMetrics(settings.telemetry)
        self.store = CheckpointStore(None, self.log, self.metrics.checkpoint_error)
        self.readers: list[FileReader] = []
        self._lock = threading.Lock()
        self._acked = threading.Condition(self._lock)
        self._inflight_bytes = 0
        self._inflight_batches = 0
        self._retry: _Attempt | None = None
        self._retry_at = 0.0
        self._retry_wait = config.retry_on_failure.initial_interval
        self._stop = threading.Event()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self._last_commit = 0.0
        self._rewinds: set[FileReader] = set()
        self._resumed = False
        self._next_reader = 0
        join = self.op.max_log_size if (self.op and self.op.max_log_size) else config.max_log_size
        self._join_limit = join

    # Lifecycle ---------------------------------------------------------------------------------
    def start(self, host) -> None:
        if self.config.storage:
            ext = host.get_extension(self.config.storage)
            client = ext.client("receiver", str(self.settings.id))
            self.store = CheckpointStore(client, self.log, self.metrics.checkpoint_error)
            n = self.store.load()
            self.log.info("loaded %d file checkpoints from %s", n, self.config.storage)
            # With checkpoints this is a restart, not a first install: a file without one was
            # created while the agent was down, so start_at: end must not skip it.
            self._resumed = n > 0 or self.store.last_alive is not None
        self._thread = threading.Thread(target=self._run, name=f"filelog-{self.settings.id}", daemon=True)
        self._thread.start()

    def shutdown(self, deadline: float) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(max(0.0, deadline - time.monotonic()))
        # Acknowledgements that arrive after this still commit (directly, see _settle): the
        # pipeline's processors and exporters flush after receivers stop and storage closes
        # last. A short wait lets the batch timer fire without eating their shutdown budget.
        wait_until = time.monotonic() + min(0.5, max(0.0, deadline - time.monotonic()) / 4)
        with self._lock:
            while self._inflight_batches and time.monotonic() < wait_until:
                self._acked.wait(min(0.05, max(0.0, wait_until - time.monotonic())))
            self._stopped = True
        self.store.flush()
        if self._thread is None or not self._thread.is_alive():
            for r in self.readers:  # never under a running loop: a reused fd would be misread
                r.close()
        self.log.info("filelog stopped; %d batches unacknowledged", self._inflight_batches)

    # Main loop ---------------------------------------------------------------------------------
    def _run(self) -> None:
        first = True
        next_poll = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now >= next_poll:
                    self._poll(first)
                    first = False
                    next_poll = now + self.config.poll_interval
                worked = self._retry_pending(now) if self._retry is not None else self._read_round()
                if now - self._last_commit >= COMMIT_EVERY:
                    self._last_commit = now
                    self.store.flush()
                if not worked:
                    self._stop.wait(max(0.005, min(next_poll - time.monotonic(), 0.05)))
            except Exception:  # a bug or an odd file must not end log collection
                self.log.exception("filelog loop error")
                self._stop.wait(1.0)
        self.store.flush()

    def _poll(self, first: bool) -> None:
        cfg = self.config
        cands = find_candidates(cfg.include, cfg.exclude, cfg.exclude_older_than, self.clock())
        res = match_poll(self.readers, cands, self.store, fingerprint_size=cfg.fingerprint_size,
                         first_poll=first and not self._resumed, start_at_end=cfg.start_at == "end",
                         max_files=cfg.max_concurrent_files, make_reader=self._make_reader)
        self.readers.extend(res.new)
        for r in [r for r in self.readers if r.detached and r.detached_polls > DETACHED_POLLS]:
            self._close(r)  # no copy appeared: the unread rest of the truncated file is gone
        for r in res.new:
            self.log.debug("tracking %s from offset %d", r.path, r.offset)
        if res.skipped_limit:
            self.metrics.files_over_limit.inc(res.skipped_limit)
        self.store.sweep(res.seen_keys)
        self.metrics.open_files.set(len(self.readers))

    def _make_reader(self, cand, fd, fp, offset, checkpoint_key) -> FileReader:
        cfg = self.config
        r = FileReader(cand.path, fd, fp, offset, max_log_size=cfg.max_log_size,
                       join_limit=self._join_limit, now=time.monotonic())
        attrs = []
        if cfg.include_file_name:
            attrs.append(("log.file.name", os.path.basename(cand.path)))
        if cfg.include_file_path:
            attrs.append(("log.file.path", cand.path))
        if cfg.include_file_name_resolved:
            attrs.append(("log.file.name_resolved", os.path.basename(cand.resolved)))
        if cfg.include_file_path_resolved:
            attrs.append(("log.file.path_resolved", cand.resolved))
        if cfg.include_file_owner_name or cfg.include_file_owner_group_name:
            attrs.extend(_owner_attributes(fd, cfg.include_file_owner_name, cfg.include_file_owner_group_name))
        attrs.extend(cfg.attributes.items())
        r.file_attrs = enc.attributes(attrs)
        res = []
        if self.op is not None and self.op.add_metadata_from_filepath:
            k8s = k8s_attributes(cand.path) or k8s_attributes(cand.resolved)
            if k8s is None:
                self.metrics.path_errors.inc()
                self.log.warning("no pod metadata in log path %s", cand.path)
            res.extend(k8s or ())
        res.extend(cfg.resource.items())
        r.resource = enc.resource_head(res)
        # Register the file at once: if it is rotated away while the agent is down, the next
        # run finds its checkpoint under the rotated name and reads the rest.
        r.stored_key = self.store.record(fp, offset, cand.path, checkpoint_key)
        return r

    # Reading -----------------------------------------------------------------------------------
    def _room(self) -> bool:
        return self._inflight_bytes < self.max_inflight_bytes and self._inflight_batches < self.max_inflight_batches

    def _read_round(self) -> bool:
        """One chunk per file, starting where the previous round stopped: under backpressure
        the freed room goes to each file in turn, not always to the first one."""
        worked = False
        now = time.monotonic()
        readers = self.readers
        if not readers:
            return False
        start = self._next_reader % len(readers)
        order = readers[start:] + readers[:start]
        reading = 0
        for i, r in enumerate(order):
            if self._stop.is_set() or self._retry is not None:
                break
            if not self._room():
                self._next_reader = start + i
                with self._lock:
                    self._acked.wait(0.05)  # backpressure: wait for acknowledgements
                return True
            if r.detached:
                continue
            if r in self._rewinds:
                self._do_rewind(r, now)
            if now < r.resume_at:
                continue
            if r.truncated():
                self._on_truncated(r)
                continue
            got = r.read_lines(self.read_chunk, now, self.config.force_flush_period)
            if got is not None:
                worked = True
                reading += 1
                self._emit(r, *got)
                self._grow_fingerprint(r)
            elif r.joiner.pending and now - r.last_growth >= PARTIAL_FLUSH_AFTER:
                self._emit(r, [], r.emitted, False, flush_partial_now=True)
            elif r.lost and not r.leftover and not r.joiner.pending and not r.inflight:
                self._close(r)
        self._next_reader = start + 1
        self.metrics.reading_files.set(reading)
        return worked

    def _grow_fingerprint(self, r: FileReader) -> None:
        """A file shorter than fingerprint_size when first seen gets a longer fingerprint as it
        grows (only if the old one is still its prefix: never adopt another file's identity)."""
        size = self.config.fingerprint_size
        if len(r.fp) < size and r.offset > len(r.fp):
            try:
                fp = os.pread(r.fd, size, 0)
            except OSError:
                return
            if fp.startswith(r.fp):
                r.fp = fp

    def _emit(self, r: FileReader, lines, end: int, unterminated: bool, flush_partial_now=False) -> None:
        writer = enc.RecordWriter(r.resource, int(self.clock() * 1e9))
        stats = LineStats()
        encode_lines(lines, writer, op=self.op, joiner=r.joiner, attr_cache=r.attr_cache,
                     file_attrs=r.file_attrs, codec=self.codec, last_unterminated=unterminated, stats=stats,
                     trim=self.trim)
        if flush_partial_now:
            flush_partial(writer, r.joiner, r.attr_cache, r.file_attrs)
        self.metrics.add_stats(stats)
        safe_end = end - r.joiner.raw_bytes  # never commit inside a pending P sequence
        if writer.count == 0:
            with self._lock:
                r.add_batch(safe_end, 0, 0).acked = True
                if r.advance_committed():
                    self._stage(r)
            return
        data = writer.request()
        with self._lock:
            batch = r.add_batch(safe_end, len(data), writer.count)
            self._inflight_bytes += len(data)
            self._inflight_batches += 1
            attempt = _Attempt(r, r.generation, batch, data)
        self._send(attempt)

    def _send(self, attempt: _Attempt) -> None:
        n = attempt.batch.records
        req = ExportLogsServiceRequest.FromString(attempt.data)
        payload = Payload("logs", req, [lambda ok, a=attempt: self._on_ack(a, ok)])
        try:
            self.consumer.consume(payload)
        except Refused:
            attempt.cancelled = True
            self.metrics.telemetry.receiver_refused("logs", n)
            self._retry, self._retry_at = attempt, time.monotonic() + self._retry_wait
            self._retry_wait = min(self._retry_wait * 2, self.config.retry_on_failure.max_interval)
            return
        except PermanentError as e:
            # The pipeline can never take these records: counted as dropped, the offset moves on.
            attempt.cancelled = True
            self.log.error("pipeline rejected %d log records for good: %s", n, e)
            self.metrics.telemetry.dropped("logs", n, "permanent_error")
            self._settle(attempt, True)
            return
        except Exception as e:  # treat as retryable: the data stays in the file
            attempt.cancelled = True
            self.log.warning("consume failed, will retry: %s", e)
            self._retry, self._retry_at = attempt, time.monotonic() + self._retry_wait
            return
        self._retry_wait = self.config.retry_on_failure.initial_interval
        self.metrics.telemetry.receiver_accepted("logs", n)
        attempt.in_consume = False
        if attempt.sync_failed:
            self._settle(attempt, False)

    def _retry_pending(self, now: float) -> bool:
        if now < self._retry_at:
            return False
        old = self._retry
        self._retry = None
        with self._lock:
            if old.generation != old.reader.generation:  # the file was rewound meanwhile
                self._release(old.batch)
                return True
            attempt = _Attempt(old.reader, old.generation, old.batch, old.data)
        self._send(attempt)
        return True

    # Acknowledgements ------------------------------------------------------------------------
    def _on_ack(self, attempt: _Attempt, ok: bool) -> None:
        if attempt.cancelled:
            return
        if not ok and attempt.in_consume:
            attempt.sync_failed = True  # decided after consume returns (it may still raise Refused)
            return
        self._settle(attempt, ok)

    def _settle(self, attempt: _Attempt, ok: bool) -> None:
        r = attempt.reader
        with self._lock:
            self._release(attempt.batch)
            if r.generation == attempt.generation:
                if ok:
                    attempt.batch.acked = True
                    if r.advance_committed():
                        self._stage(r)
                else:
                    self._rewinds.add(r)  # the reading thread rewinds it
            self._acked.notify_all()
            direct = self._stopped
        if direct:
            self.store.flush()
        if not ok:
            self.metrics.nacked_batches.inc()

    def _release(self, batch) -> None:
        if batch.size and not batch.released:
            batch.released = True
            self._inflight_bytes -= batch.size
            self._inflight_batches -= 1

    def _stage(self, r: FileReader) -> None:
        r.stored_key = self.store.record(r.fp, r.committed, r.path, r.stored_key)

    def _do_rewind(self, r: FileReader, now: float) -> None:
        """Delivery failed for good downstream: read again from the last committed offset."""
        with self._lock:
            self._rewinds.discard(r)
            r.restart_from(r.committed)
            r.resume_at = now + self._retry_wait
        self._retry_wait = min(self._retry_wait * 2, self.config.retry_on_failure.max_interval)
        self.metrics.rewinds.inc()
        self.log.warning("delivery failed; re-reading %s from offset %d", r.path, r.committed)

    def _on_truncated(self, r: FileReader) -> None:
        """Truncated under us (copytruncate, `> file`). The new content gets a new reader at the
        next poll (new fingerprint); this one waits for the copy of the old content, if any."""
        self.metrics.truncations.inc()
        r.detach()
        self.log.info("%s was truncated", r.path)

    def _close(self, r: FileReader) -> None:
        r.close()
        self.readers.remove(r)
        self._rewinds.discard(r)
        self.metrics.open_files.set(len(self.readers))
