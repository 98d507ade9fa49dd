"""Fan-out of one payload to several consumers, with acks joined back together."""
from __future__ import annotations

from ..component import AckJoin, Payload, PermanentError, Refused


def clone_request(request):
    copy = type(request)()
    copy.CopyFrom(request)
    return copy


class Fanout:
    """Sends each payload to every consumer.

    clone=True gives every consumer but the last its own copy of the request: used between
    pipelines, whose processors may mutate. Exporters of one pipeline never mutate, so they
    share one request (clone=False), as the Go collector's fanoutconsumer does for read-only
    consumers.
    """

    def __init__(self, consumers: list, clone: bool) -> None:
        if not consumers:
            raise ValueError("fan-out needs at least one consumer")
        self.consumers = list(consumers)
        self.clone = clone

    def consume(self, payload: Payload) -> None:
        n = len(self.consumers)
        if n == 1:
            self.consumers[0].consume(payload)
            return
        req = payload.request
        requests = [clone_request(req) for _ in range(n - 1)] + [req] if self.clone else [req] * n
        parts = AckJoin(n, payload.acks).parts()
        payload.acks = []
        refused = permanent = other = None
        for consumer, request, ack in zip(self.consumers, requests, parts):
            try:
                consumer.consume(Payload(payload.signal, request, [ack], payload.client_addr))
            except Refused as e:
                refused = e
                ack(False)  # no-op if the consumer already acked, as the contract asks
            except PermanentError as e:
                permanent = e
                ack(False)
            except Exception as e:  # a component bug must not skip the other pipelines
                other = e
                ack(False)
        err = refused or permanent or other
        if err is not None:
            raise err
