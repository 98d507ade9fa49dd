"""`make run`: the agent role on its embedded default config, exporting to a local sink.

Starts an in-process OTLP sink as the gateway, runs `collector run` on defaults/agent.yaml
against it, and prints every 10 s what the gateway has received. Ctrl-C stops both.
"""
from __future__ import annotations

import os
import sys
import threading

from .sink import Sink

DEFAULT_CONFIG = os.path.join(os.path.dirname(__file__), "defaults", "agent.yaml")


def main() -> int:
    sink = Sink(grpc="127.0.0.1:0", http="127.0.0.1:0")
    sink.start()
    os.environ.setdefault("SKUBER_GATEWAY", sink.grpc_endpoint)
    print(f"sink (the gateway) listening on grpc {sink.grpc_endpoint}, http {sink.http_endpoint}", flush=True)
    print(f"agent config: {DEFAULT_CONFIG}; health on http://127.0.0.1:{os.environ.get('SKUBER_HEALTH_PORT', '13133')}/", flush=True)
    stop = threading.Event()

    def report():
        while not stop.wait(10):
            counts = ", ".join(f"{sig}: {sink.count(sig)}" for sig in ("metrics", "logs", "traces"))
            print(f"gateway received so far: {counts}", flush=True)

    threading.Thread(target=report, daemon=True).start()
    from .cli import main as cli_main
    try:
        return cli_main(["run", "--config", DEFAULT_CONFIG] + sys.argv[1:])
    finally:
        stop.set()
        sink.stop()


if __name__ == "__main__":
    sys.exit(main())
