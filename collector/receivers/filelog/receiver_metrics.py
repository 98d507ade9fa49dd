"""Self-metrics of the filelog receiver (otelcol's fileconsumer names where they exist)."""
from __future__ import annotations


class _Nop:
    def inc(self, amount: float = 1) -> None:
        pass

    def set(self, value: float) -> None:
        pass

    def labels(self, **_):
        return self


class _NopTelemetry:
    def __getattr__(self, name):
        if name in ("counter", "gauge", "histogram"):
            return lambda *a, **k: _Nop()
        return lambda *a, **k: None


class ReceiverMetrics:
    def __init__(self, telemetry) -> None:
        t = telemetry if telemetry is not None else _NopTelemetry()
        self.telemetry = t
        self.open_files = t.gauge("otelcol_fileconsumer_open_files", "Number of open files")
        self.reading_files = t.gauge("otelcol_fileconsumer_reading_files", "Number of open files that are being read")
        self.parse_errors = t.counter("skuber_filelog_parse_errors",
                                      "Lines that are not container log lines, sent with their raw text")
        self.invalid_encoding = t.counter("skuber_filelog_invalid_encoding_lines",
                                          "Lines with bytes invalid in the configured encoding (replaced)")
        self.truncations = t.counter("skuber_filelog_truncations", "Files found truncated; read again from 0")
        self.rewinds = t.counter("skuber_filelog_rewinds",
                                 "Files re-read from their committed offset after a failed delivery")
        self.nacked_batches = t.counter("skuber_filelog_nacked_batches",
                                        "Batches the pipeline reported as not delivered")
        self.path_errors = t.counter("skuber_filelog_path_metadata_errors",
                                     "Files whose path gives no pod metadata")
        self.files_over_limit = t.counter("skuber_filelog_files_over_limit",
                                          "Files left for a later poll because max_concurrent_files were open")
        self.checkpoint_errors = t.counter("skuber_filelog_checkpoint_errors", "Failed checkpoint writes")

    def checkpoint_error(self) -> None:
        self.checkpoint_errors.inc()

    def add_stats(self, stats) -> None:
        if stats.parse_errors:
            self.parse_errors.inc(stats.parse_errors)
        if stats.invalid_utf8:
            self.invalid_encoding.inc(stats.invalid_utf8)
        if stats.dropped:
            self.telemetry.dropped("logs", stats.dropped, "parse_error")
