"""`python -m collector sink`: the fake OTLP gateway as a command (see collector.sink)."""
from __future__ import annotations

import argparse
import signal
import sys
import threading


def _status(text: str):
    """--fail-status: an HTTP status (503) or a gRPC code name (UNAVAILABLE)."""
    from collector.otlp.status import ExportFailure

    try:
        ExportFailure.from_status(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return int(text) if text.strip().isdigit() else text.strip().upper()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--grpc", default="127.0.0.1:4317", metavar="HOST:PORT",
                        help="OTLP/gRPC listen address (default 127.0.0.1:4317; 'off' to disable)")
    parser.add_argument("--http", default="127.0.0.1:4318", metavar="HOST:PORT",
                        help="OTLP/HTTP listen address (default 127.0.0.1:4318; 'off' to disable)")
    parser.add_argument("--out", default="-", metavar="FILE.jsonl",
                        help="append one JSON line per accepted request here (default: stdout)")
    parser.add_argument("--fail-status", type=_status, default=None, metavar="STATUS",
                        help="answer this gRPC code name or HTTP status instead of accepting")
    parser.add_argument("--fail-times", type=int, default=1, metavar="N",
                        help="how many requests get the scripted answer (-1: all; default 1)")
    parser.add_argument("--retry-after", type=float, default=None, metavar="SECONDS",
                        help="add HTTP Retry-After / gRPC RetryInfo to scripted failures")
    parser.add_argument("--delay", type=float, default=0.0, metavar="SECONDS",
                        help="hold each scripted answer this long")
    parser.add_argument("--partial-rejected", type=int, default=0, metavar="N",
                        help="accept, but answer partial success with N rejected items")
    parser.add_argument("--tls-cert", default=None, metavar="FILE", help="serve TLS with this certificate")
    parser.add_argument("--tls-key", default=None, metavar="FILE", help="private key of --tls-cert")
    parser.add_argument("--client-ca", default=None, metavar="FILE",
                        help="require client certificates signed by this CA (mTLS)")


def main(args: argparse.Namespace) -> int:
    from collector.sink import Sink

    def address(value: str) -> str | None:
        return None if value in ("", "off", "none") else value

    scripted = (args.fail_status is not None or args.delay > 0 or args.partial_rejected > 0)
    out = sys.stdout if args.out == "-" else args.out
    try:
        sink = Sink(grpc=address(args.grpc), http=address(args.http), out=out,
                    tls_cert=args.tls_cert, tls_key=args.tls_key, client_ca=args.client_ca)
        if scripted:
            sink.set_failure(args.fail_status, times=args.fail_times, retry_after=args.retry_after,
                             delay=args.delay, partial_rejected=args.partial_rejected,
                             error_message="scripted failure" if args.fail_status is not None else "")
        sink.start()
    except (OSError, ValueError) as e:
        print(f"sink: {e}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        where = [f"gRPC on {sink.grpc_endpoint}" if args.grpc and address(args.grpc) else "",
                 f"HTTP on {sink.http_endpoint}" if address(args.http) else ""]
        print("sink: listening for OTLP, " + ", ".join(w for w in where if w), file=sys.stderr, flush=True)
        while not stop.wait(1.0):
            pass
    finally:
        sink.stop()
        for s, h in previous.items():
            signal.signal(s, h)
    return 0
