"""Per-signal facts of the OTLP export services: messages, gRPC method names, default URL paths."""
from __future__ import annotations

from dataclasses import dataclass

from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2


@dataclass(frozen=True)
class ExportService:
    signal: str
    request_type: type
    response_type: type
    grpc_service: str          # fully qualified gRPC service name
    url_path: str              # default OTLP/HTTP path
    rejected_field: str        # the count field of the response's partial_success

    @property
    def grpc_method(self) -> str:
        """The full gRPC method path a client calls."""
        return f"/{self.grpc_service}/Export"

    def response(self, rejected: int = 0, error_message: str = ""):
        resp = self.response_type()
        if rejected or error_message:
            setattr(resp.partial_success, self.rejected_field, rejected)
            resp.partial_success.error_message = error_message
        return resp


SERVICES = {
    "traces": ExportService(
        "traces", trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
        "opentelemetry.proto.collector.trace.v1.TraceService", "/v1/traces", "rejected_spans"),
    "metrics": ExportService(
        "metrics", metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
        "opentelemetry.proto.collector.metrics.v1.MetricsService", "/v1/metrics",
        "rejected_data_points"),
    "logs": ExportService(
        "logs", logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
        "opentelemetry.proto.collector.logs.v1.LogsService", "/v1/logs", "rejected_log_records"),
}
