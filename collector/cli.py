"""`python -m collector`: run | validate | sink | check | operator."""
from __future__ import annotations

import argparse
import importlib
import logging
import signal
import sys
import threading
import time

from .config import ConfigErrors, parse_duration

log = logging.getLogger("collector")

# Subcommands written in their own modules: (module, help). Each has add_arguments and main.
_EXTERNAL = {
    "sink": ("collector.sink.cli", "run a fake OTLP gateway that records what it receives"),
    "check": ("collector.check", "tell whether each exporter's endpoint is reachable"),
    "operator": ("collector.operator.cli", "run the auto-instrumentation admission webhook"),
}


def _add_config_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", action="append", required=True, metavar="FILE",
                   help="collector config YAML (repeat to merge several; 'yaml:...' for inline)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key by dotted path (or a::b::c), e.g. exporters.otlp.endpoint=gw:4317")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m collector", description="skuber agent: a pure-Python OpenTelemetry collector")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the collector until SIGTERM/SIGINT")
    _add_config_args(run)
    run.add_argument("--shutdown-timeout", default="10s", help="flush deadline on SIGTERM (default 10s)")
    val = sub.add_parser("validate", help="validate a config: exit 0, or one line per problem")
    _add_config_args(val)
    for name, (module, help_) in _EXTERNAL.items():
        p = sub.add_parser(name, help=help_)
        try:
            importlib.import_module(module).add_arguments(p)
        except ModuleNotFoundError as e:
            if e.name and module.startswith(e.name):
                p.set_defaults(_missing=module)  # not built into this install
                continue
            raise
    return parser


def _load(args):
    from .config import load_config
    return load_config(args.config, args.set)


def cmd_validate(args) -> int:
    try:
        _load(args)
    except ConfigErrors as e:
        for err in e.errors:
            print(f"error: {err}", file=sys.stderr)
        return 1
    print("Config is valid.")
    return 0


def cmd_run(args) -> int:
    from .engine import Service
    from .telemetry import Telemetry, setup_logging

    setup_logging()
    try:
        config = _load(args)
        deadline_s = parse_duration(args.shutdown_timeout)
    except ConfigErrors as e:
        for err in e.errors:
            log.error("invalid configuration: %s", err)
        return 1
    except ValueError as e:
        log.error("invalid --shutdown-timeout: %s", e)
        return 2
    logs = config.service.telemetry.logs
    setup_logging(logs.level, logs.encoding)

    stop = threading.Event()
    received = []

    def on_signal(signum, _frame):
        received.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    telemetry = Telemetry()
    metrics_server = None
    mcfg = config.service.telemetry.metrics
    if mcfg.level != "none" and mcfg.address:
        from prometheus_client import start_http_server
        host, _, port = mcfg.address.rpartition(":")
        try:
            metrics_server = start_http_server(int(port), addr=host.strip("[]") or "0.0.0.0", registry=telemetry.registry)
        except (OSError, ValueError) as e:
            log.error("cannot serve self-telemetry on %s: %s (set service.telemetry.metrics.address)", mcfg.address, e)
            return 1
    log.info("Starting skuber collector", extra={"version": "0.1.0", "configs": args.config})
    try:
        service = Service(config, telemetry)
        service.start()
    except Exception as e:
        log.error("collector failed to start: %s", e)
        return 1
    while not stop.wait(0.5):
        pass
    log.info("Received signal from OS", extra={"signal": signal.Signals(received[0]).name if received else "?"})
    t0 = time.monotonic()
    service.shutdown(t0 + deadline_s)
    if metrics_server is not None and isinstance(metrics_server, tuple):
        metrics_server[0].shutdown()
    log.info("Shutdown complete.", extra={"seconds": round(time.monotonic() - t0, 3)})
    return 0


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    missing = getattr(args, "_missing", None)
    if missing:
        print(f"{args.command}: this install lacks {missing}", file=sys.stderr)
        return 2
    if args.command == "run":
        return cmd_run(args)
    if args.command == "validate":
        return cmd_validate(args)
    return importlib.import_module(_EXTERNAL[args.command][0]).main(args)
