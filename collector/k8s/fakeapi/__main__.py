"""Runs the fake API server by hand: `python -m collector.k8s.fakeapi --port 8001 --pods 100`."""

import argparse
import signal
import threading

from collector.k8s.fakeapi import objects
from collector.k8s.fakeapi.server import FakeAPIServer


def populate(srv: FakeAPIServer, pods: int, nodes: int, namespace: str = "default") -> None:
    """A small cluster: nodes, a namespace, and Deployments of 10 pods spread over the nodes."""
    for i in range(nodes):
        srv.create(objects.node(f"node-{i + 1}", ip=f"192.168.0.{10 + i}"))
    if namespace != "default":
        srv.create(objects.namespace(namespace))
    srv.create(objects.namespace("default"))
    for d in range((pods + 9) // 10):
        replicas = min(10, pods - d * 10)
        for obj in objects.deployment_with_pods(f"app-{d}", namespace, replicas,
                                                node_name=f"node-{d % max(nodes, 1) + 1}",
                                                first_ip=(d // 25, (d % 25) * 10)):
            srv.create(obj)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--pods", type=int, default=20)
    parser.add_argument("--nodes", type=int, default=2)
    parser.add_argument("--token", default="fake-token")
    parser.add_argument("--tls", action="store_true")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for this server here")
    args = parser.parse_args()
    srv = FakeAPIServer(args.host, args.port, token=args.token or None, tls=args.tls).start()
    populate(srv, args.pods, args.nodes)
    if args.kubeconfig:
        srv.write_kubeconfig(args.kubeconfig)
    print(f"fake API server on {srv.url} ({args.pods} pods, {args.nodes} nodes)", flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    srv.stop()


if __name__ == "__main__":
    main()
