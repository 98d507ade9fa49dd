"""`python -m collector operator`: run the auto-instrumentation admission webhook until SIGTERM.

Instrumentations come from `--instrumentation FILE` (local runs, tests) or, without it, from the
API server through the watch layer (in the chart: the pod's service account).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
from typing import Any

from collector.operator.instrumentation import InstrumentationError
from collector.operator.mutator import Mutator
from collector.operator.store import FileStore, InformerStore
from collector.operator.webhook import Metrics, WebhookServer

log = logging.getLogger("collector.operator")


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {value!r}")
    return host.strip("[]") or "0.0.0.0", int(port)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--listen", type=_host_port, default=("0.0.0.0", 9443), metavar="HOST:PORT",
                        help="address of the HTTPS webhook (default 0.0.0.0:9443)")
    parser.add_argument("--tls-cert", help="PEM certificate (cert-manager's tls.crt)")
    parser.add_argument("--tls-key", help="PEM private key (cert-manager's tls.key)")
    parser.add_argument("--insecure-http", action="store_true",
                        help="serve plain HTTP (local tests only: the API server requires HTTPS)")
    parser.add_argument("--instrumentation", metavar="FILE",
                        help="YAML with one or more Instrumentation resources instead of the API")
    parser.add_argument("--auth-type", default="serviceAccount",
                        choices=("serviceAccount", "kubeConfig", "none"),
                        help="how to reach the API server for watching Instrumentations")
    parser.add_argument("--kubeconfig", help="kubeconfig file (implies --auth-type kubeConfig)")
    parser.add_argument("--default-namespace", default=os.environ.get("POD_NAMESPACE", "default"),
                        help="where a bare Instrumentation name is looked up when the pod's "
                             "namespace has none (default: $POD_NAMESPACE, else 'default')")
    parser.add_argument("--sync-timeout", type=float, default=60.0,
                        help="seconds to wait for the first list of Instrumentations")


def _store(args: argparse.Namespace, metrics: Metrics) -> tuple[Any, Any]:
    """Returns (store, informer-or-None)."""
    if args.instrumentation:
        return FileStore.load(args.instrumentation, args.default_namespace), None
    from collector.k8s.client import make_api_client
    from collector.k8s.informer import Informer

    auth = "kubeConfig" if args.kubeconfig else args.auth_type
    informer = Informer(make_api_client(auth, args.kubeconfig), resource="instrumentations",
                        group="opentelemetry.io", version="v1alpha1",
                        logger=logging.getLogger("collector.operator.informer"))
    return InformerStore(informer, args.default_namespace,
                         on_invalid=metrics.invalid_instrumentations.inc), informer


def main(args: argparse.Namespace) -> int:
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if bool(args.tls_cert) != bool(args.tls_key):
        log.error("--tls-cert and --tls-key go together")
        return 2
    if not args.tls_cert and not args.insecure_http:
        log.error("the webhook needs --tls-cert and --tls-key (the API server only calls HTTPS webhooks)")
        return 2
    metrics = Metrics()
    try:
        store, informer = _store(args, metrics)
    except (OSError, InstrumentationError) as err:
        log.error("cannot load Instrumentations: %s", err)
        return 2
    except Exception as err:  # the client's ConfigException and friends: no credentials
        log.error("cannot reach the Kubernetes API: %s", err)
        return 2

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    if informer is not None:
        informer.start()
        if not informer.wait_synced(args.sync_timeout):
            # Keep serving: until the list arrives pods pass unchanged, and /readyz says why.
            log.warning("Instrumentations not synced after %.0fs; continuing", args.sync_timeout)

    mutator = Mutator(store, args.default_namespace)
    host, port = args.listen
    try:
        server = WebhookServer(mutator, host, port, args.tls_cert, args.tls_key, metrics=metrics,
                               ready=(lambda: informer.synced) if informer is not None else (lambda: True))
    except (OSError, ValueError) as err:
        log.error("cannot start the webhook on %s:%d: %s", host, port, err)
        if informer is not None:
            informer.stop()
        return 1
    server.start()
    bound = server.address
    log.info("admission webhook listening on %s://%s:%d/mutate-v1-pod", "https" if args.tls_cert else "http",
             bound[0], bound[1])
    log.info("Everything is ready")
    stop.wait()
    log.info("shutting down")
    server.shutdown()
    if informer is not None:
        informer.stop()
    return 0


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collector operator")
    add_arguments(parser)
    return main(parser.parse_args(argv))
