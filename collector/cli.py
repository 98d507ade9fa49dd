"""`python -m collector`: run | validate | sink | check | operator."""
from __future__ import annotations

import argparse
import importlib
import logging
import os
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
                   help="collector config: a path, file:PATH, env:NAME or yaml:TEXT (repeat to merge several, in order)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key by dotted path (or a::b::c), e.g. exporters.otlp.endpoint=gw:4317")
    # otelcol's flag; our components have no gates, so it is accepted and said to be ignored
    p.add_argument("--feature-gates", action="append", default=[], metavar="GATES", help=argparse.SUPPRESS)


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


def _warn_feature_gates(args) -> None:
    if args.feature_gates:
        logging.getLogger("collector.config").warning("--feature-gates is not supported by this collector and was ignored",
                    extra={"gates": ",".join(args.feature_gates)})


class _PlainWarning(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        from .logs import _fields
        extra = ", ".join(f"{k}={v}" for k, v in sorted(_fields(record).items()))
        return f"warning: {record.getMessage()}" + (f" ({extra})" if extra else "")


def plain_warnings() -> None:
    """Warnings of a config load (an unset ${env:VAR}) as `warning: ...` lines on stderr, for the
    commands that print `error: ...` lines rather than logging."""
    config_log = logging.getLogger("collector.config")
    if not any(isinstance(h, _StderrHandler) for h in config_log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(_PlainWarning())
        handler.setLevel(logging.WARNING)
        config_log.addHandler(handler)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever sys.stderr is at the time (it may be replaced, as under pytest)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, _value):
        pass


def cmd_validate(args) -> int:
    plain_warnings()
    _warn_feature_gates(args)
    try:
        _load(args)
    except ConfigErrors as e:
        for err in e.errors:
            print(f"error: {err}", file=sys.stderr)
        return 1
    print("Config is valid.")
    return 0


def cmd_run(args) -> int:
    # Handlers first: a SIGTERM while the config loads (imports take a while) still ends in an
    # orderly shutdown and exit 0, not in the default action.
    stop = threading.Event()
    received = []

    def on_signal(signum, _frame):
        received.append(signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    from .engine import Service
    from .logs import setup_logging
    from .telemetry import MetricsServer, Telemetry

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
    try:
        setup_logging(logs.level, logs.encoding, output_paths=logs.output_paths, initial_fields=logs.initial_fields)
    except OSError as e:
        log.error("cannot open service.telemetry.logs.output_paths: %s", e)
        return 1
    _warn_feature_gates(args)

    telemetry = Telemetry()
    telemetry.set_resource(config.service.telemetry.resource)
    metrics_servers = []
    for host, port, prom in config.service.telemetry.metrics.prometheus_endpoints():
        type_suffix, units = prom.suffixes()
        included = tuple(prom.with_resource_constant_labels.get("included") or ())
        try:
            metrics_servers.append(MetricsServer(telemetry, host, port, type_suffix, units, included,
                                                 not prom.without_target_info).start())
        except OSError as e:
            log.error("cannot serve self-telemetry on %s:%s: %s (set service.telemetry.metrics.readers "
                      "or address)", host, port, e)
            for m in metrics_servers:
                m.shutdown()
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
    done = _exit_if_stuck(deadline_s + _SHUTDOWN_GRACE_S)
    service.shutdown(t0 + deadline_s)
    done.set()
    for m in metrics_servers:
        m.shutdown()
    log.info("Shutdown complete.", extra={"seconds": round(time.monotonic() - t0, 3)})
    return 0


# Past the flush deadline, components get this long to return before the process is ended.
_SHUTDOWN_GRACE_S = 5.0


def _exit_if_stuck(after_s: float) -> threading.Event:
    """A component that ignores the shutdown deadline must not keep the process alive after
    SIGTERM: end it, non-zero, saying so, unless the returned event is set in time."""
    done = threading.Event()

    def watchdog():
        if not done.wait(after_s):
            log.error("shutdown did not finish within %.0fs; exiting", after_s)
            logging.shutdown()
            os._exit(1)

    threading.Thread(target=watchdog, name="shutdown-watchdog", daemon=True).start()
    return done


def exit_process(rc: int) -> None:
    """sys.exit(rc), unless a non-daemon thread a component left behind would keep the process
    alive after shutdown: then wait a moment for it and end the process anyway."""
    deadline = time.monotonic() + _SHUTDOWN_GRACE_S
    for t in threading.enumerate():
        if not t.daemon and t is not threading.main_thread():
            t.join(max(0.0, deadline - time.monotonic()))
    stuck = [t.name for t in threading.enumerate() if t.is_alive() and not t.daemon and t is not threading.main_thread()]
    if stuck:
        log.warning("threads still running after shutdown; exiting anyway", extra={"threads": stuck})
        logging.shutdown()
        os._exit(rc)
    sys.exit(rc)


def main(argv=None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv and argv[0].startswith("--") and argv[0].split("=")[0] in ("--config", "--set", "--feature-gates"):
        argv = ["run"] + argv  # `otelcol --config FILE` runs: so does `python -m collector --config FILE`
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
