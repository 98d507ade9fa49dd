"""k8s_events receiver: core/v1 Events -> log records (otelcol-contrib's k8seventsreceiver).

What gets emitted:
- first start (no checkpoint): only events whose timestamp is not before the receiver's start,
  as the collector does, so old events are not flooded at start-up;
- with a checkpoint in `storage`: every event version with a resourceVersion above it, so a
  restart neither repeats delivered events nor skips those that happened while it was down;
- with `k8s_leader_elector`, the checkpoint also travels in the lease's annotations, so a
  replica taking over resumes where the previous leader stopped (at most one renewal period,
  retry_period, of events may repeat when the old leader died without renewing).
"""
from __future__ import annotations

import datetime
import threading

from collector.component import Component
from collector.extensions.k8s_leader_elector.gate import LeaderGate

from collector.receivers.k8s_cluster.api_pool import widen_connection_pool

from .config import Config
from .delivery import EventDelivery, parse_rv, rv_int
from .mapping import event_time, slim_event


class K8sEventsReceiver(Component):
    def __init__(self, settings, config: Config, consumers: dict, api_client=None):
        self.settings = settings
        self.config = config
        self.consumer = consumers["logs"]
        self.log = settings.logger
        self.telemetry = settings.telemetry
        self._api_client = api_client
        self._storage = None
        self._informers: list = []
        self.delivery: EventDelivery | None = None
        self.start_time: datetime.datetime | None = None
        self._floor: int | None = None
        self._seen_rv: int | None = None
        self._elector = None
        # Lease annotation carrying this receiver's checkpoint (qualified name: prefix/name).
        self._lease_key = "skuber.io/k8s-events." + str(settings.id).replace("/", ".")
        self._gate = LeaderGate(self._start_work, self._stop_work, config.k8s_leader_elector, self.log)
        self._skipped = self.telemetry.counter("skuber_k8s_events_skipped",
                                               "Events not emitted, by reason.", ("reason",))

    def start(self, host) -> None:
        if self.config.k8s_leader_elector:
            self._elector = host.get_extension(self.config.k8s_leader_elector)
        if self.config.storage:
            ext = host.get_extension(self.config.storage)
            self._storage = ext.client("receiver", str(self.settings.id))
        if self._api_client is None:
            from collector.k8s.client import make_api_client
            self._api_client = make_api_client(self.config.auth_type, context=self.config.context or None)
        self._gate.start(host)

    def shutdown(self, deadline: float) -> None:
        self._gate.shutdown()
        close = getattr(self._storage, "close", None)
        if close is not None:
            close()
        self._storage = None

    # -- leader-gated work ----------------------------------------------------------------
    def _start_work(self) -> None:
        from collector.k8s.informer import Informer
        self.start_time = datetime.datetime.now(datetime.timezone.utc)
        widen_connection_pool(self._api_client, len(self.config.namespaces) + 4)
        handed_over, on_commit = None, None
        if self._elector is not None:
            # The checkpoint travels with the lease: the next leader (another replica, with its
            # own file_storage) resumes from it instead of from its own start time.
            handed_over = parse_rv(self._elector.annotation(self._lease_key))
            on_commit = lambda rv: self._elector.set_annotation(self._lease_key, str(rv))  # noqa: E731
        self.delivery = EventDelivery(self.consumer, self._storage, self.telemetry, self.log,
                                      self.settings.build_info.version,
                                      self.config.max_pending_events, self.config.max_batch_size,
                                      handed_over=handed_over, on_commit=on_commit)
        self._floor = self.delivery.committed
        self._informers = [
            Informer(self._api_client, resource="events", group="", version="v1", namespace=ns,
                     transform=slim_event, on_add=self._on_event,
                     on_update=lambda _old, new: self._on_event(new), logger=self.log,
                     telemetry=self.telemetry)
            for ns in (self.config.namespaces or [None])]
        synced = threading.Event()
        informers = self._informers
        delivery = self.delivery

        def wait_synced():
            for inf in informers:
                while not inf.wait_synced(0.5):
                    if delivery.stopped:  # leadership lost (or shutdown) before the first list
                        return
            if len(informers) == 1:
                # Every listed event went through _on_event before the informer reported synced,
                # so everything up to the list's resourceVersion has been handled.
                self._saw(parse_rv(informers[0].last_resource_version))
            synced.set()

        self._seen_rv = None
        if len(informers) == 1:
            # One watch delivers in resourceVersion order, so "seen" is a safe idle checkpoint.
            # Several namespace watches are not ordered among themselves: then only delivered
            # batches advance the checkpoint.
            self.delivery.commit_when_idle(lambda: self._seen_rv)
        for inf in informers:
            inf.start()
        threading.Thread(target=wait_synced, daemon=True, name="k8s_events-sync").start()
        self.delivery.start(ready=synced)

    def _stop_work(self) -> None:
        for inf in self._informers:
            inf.stop()
        self._informers = []
        if self.delivery is not None:
            self.delivery.stop()

    def _on_event(self, ev: dict) -> None:
        delivery = self.delivery
        if delivery is None:
            return
        rv = rv_int(ev)
        if rv is None:
            self._skipped.labels(reason="bad_resource_version").inc()
            return
        try:
            self._offer_if_new(delivery, ev, rv)
        finally:
            self._saw(rv)

    def _saw(self, rv: int | None) -> None:
        if rv is not None and (self._seen_rv is None or rv > self._seen_rv):
            self._seen_rv = rv

    def _offer_if_new(self, delivery: EventDelivery, ev: dict, rv: int) -> None:
        if self._floor is not None:
            if rv <= self._floor:
                self._skipped.labels(reason="already_delivered").inc()
                return
        else:
            t = event_time(ev)
            if t is None or t < self.start_time.replace(microsecond=0):
                # Event timestamps have second precision: compare at that precision.
                self._skipped.labels(reason="before_start").inc()
                return
        delivery.offer(ev, rv)
