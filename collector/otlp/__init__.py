"""OTLP server side, written once for the `otlp` receiver and the sink (`python -m collector sink`).

Modules:
  services.py     per-signal messages, gRPC service names, default URL paths
  json_codec.py   OTLP/JSON <-> protobuf (to_json / from_json): hex ids, int64 strings
  status.py       ExportFailure / PartialSuccess and the gRPC <-> HTTP status tables
  server.py       the handler contract: handle(signal, request, transport, peer)
  grpc_server.py  OTLP/gRPC (grpcio sync server, thread pool)
  http_server.py  OTLP/HTTP (threaded http.server, HTTP/1.1 keep-alive, TLS, gzip/deflate)
  cors.py         CORS for browser clients, as confighttp
  listen.py       endpoint parsing and server TLS material
  pem.py          TLS version names and inline PEM loading (servers and exporters share them)

What a client gets back, by cause (the collector's otlpreceiver answers the same way):

  cause                                          gRPC                  HTTP
  accepted                                       OK                    200, empty Export*Response
  accepted, some items rejected (PartialSuccess) OK + partial_success  200 + partialSuccess
  handler raised ExportFailure(code, status)     code (+ RetryInfo)    status (+ Retry-After)
    receiver: Refused (memory_limiter, queue)    UNAVAILABLE           503
    receiver: PermanentError                     INVALID_ARGUMENT      400
    receiver: error with grpc_code=RESOURCE_EXHAUSTED  RESOURCE_EXHAUSTED  429
  handler raised anything else (a bug)           UNAVAILABLE           503   (logged)
  body does not decode (protobuf or JSON)        INVALID_ARGUMENT      400
  unknown Content-Encoding, broken gzip          -                     400
  Content-Type not protobuf or JSON              -                     415
  message / body too large (also once inflated)  RESOURCE_EXHAUSTED    413
  signal not served / unknown path               UNIMPLEMENTED         404
  method other than POST                         -                     405
  too many calls waiting for a worker            RESOURCE_EXHAUSTED    (HTTP: waits in the
                                                                        listen backlog)

HTTP error bodies are a google.rpc.Status in the request's encoding (protobuf or JSON), except
415/404/405, which are plain text as in the collector. Retryable per the OTLP specification:
gRPC UNAVAILABLE (and RESOURCE_EXHAUSTED with RetryInfo); HTTP 429, 502, 503, 504.
"""
