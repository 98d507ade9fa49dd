"""Lease-based leader election with client-go's leaderelection semantics.

- A candidate acquires the Lease when it does not exist, is held by nobody, or its holder has not
  renewed it for lease_duration as observed on *our* monotonic clock (client-go's observedTime:
  never compare the holder's wall-clock renewTime with ours, clocks skew).
- The leader renews every retry_period; if no renewal succeeded for renew_deadline it stops
  leading (renew_deadline < lease_duration, so it has stopped before anyone else may take over:
  two replicas never both lead).
- Writes carry the read resourceVersion, so two candidates racing for an expired lease cannot
  both win: the API server answers 409 Conflict to the second.
- On stop the leader releases the lease (holderIdentity cleared, ReleaseOnCancel) so a standby
  takes over at its next retry rather than after lease_duration.
- The leader may keep small state in the lease's annotations (set_annotation): it is written
  with each renewal and adopted by whoever acquires the lease next, so work handed over on
  failover (the events receiver's checkpoint) resumes where the previous leader left it.
"""
from __future__ import annotations

import datetime
import logging
import random
import threading
import time
from typing import Callable

from .lease_client import LeaseClient

Callback = Callable[[], None]


def _micro_time(now: datetime.datetime | None = None) -> str:
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaseElector:
    def __init__(self, lease_client: LeaseClient, identity: str, lease_duration: float = 15.0,
                 renew_deadline: float = 10.0, retry_period: float = 2.0,
                 on_start_leading: Callback | None = None, on_stop_leading: Callback | None = None,
                 logger: logging.Logger | None = None, monotonic: Callable[[], float] = time.monotonic):
        if not (lease_duration > renew_deadline > retry_period > 0):
            raise ValueError("need lease_duration > renew_deadline > retry_period > 0")
        self.client = lease_client
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.on_start_leading = on_start_leading or (lambda: None)
        self.on_stop_leading = on_stop_leading or (lambda: None)
        self.log = logger or logging.getLogger("collector.extension.k8s_leader_elector")
        self._now = monotonic
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._leading = False
        self._lock = threading.Lock()
        # What we last saw of the lease, and when (our clock) it last changed.
        self._observed_key: tuple | None = None
        self._observed_at = 0.0
        self.transitions = 0  # times this elector became leader (self-telemetry, tests)
        self.errors = 0
        self._annotations: dict[str, str] = {}
        self._ann_lock = threading.Lock()

    def annotation(self, key: str) -> str | None:
        with self._ann_lock:
            return self._annotations.get(key)

    def set_annotation(self, key: str, value: str) -> None:
        """Goes out with the next renewal (within retry_period) while we lead."""
        with self._ann_lock:
            self._annotations[key] = value

    def _annotations_copy(self) -> dict:
        with self._ann_lock:
            return dict(self._annotations)

    @property
    def is_leader(self) -> bool:
        return self._leading

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"lease-elector-{self.identity}",
                                        daemon=True)
        self._thread.start()

    def stop(self, release: bool = True, timeout: float = 5.0) -> None:
        """Stop campaigning; a leader stops leading (callback runs) and, if release, frees the lease."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        was_leading = self._set_leading(False)
        if release and was_leading:
            try:
                self._release()
            except Exception as e:  # the lease then simply expires after lease_duration
                self.log.warning("could not release lease %s: %s", self.client.name, e)

    # -- the loop -------------------------------------------------------------------------

    def _sleep(self, seconds: float) -> bool:
        """Jittered wait (client-go's JitterFactor 1.2); True when asked to stop."""
        return self._stop.wait(seconds * (1.0 + random.random() * 0.2))

    def _run(self) -> None:
        while not self._stop.is_set():
            # Acquire: retry every retry_period until we hold the lease.
            while not self._stop.is_set():
                if self._try_acquire_or_renew():
                    break
                if self._sleep(self.retry_period):
                    return
            if self._stop.is_set():
                return
            self._set_leading(True)
            # Renew: give up once no renewal has succeeded for renew_deadline.
            last_ok = self._now()
            while not self._stop.is_set():
                if self._stop.wait(self.retry_period):
                    return
                if self._try_acquire_or_renew():
                    last_ok = self._now()
                elif self._now() - last_ok >= self.renew_deadline:
                    self.log.warning("failed to renew lease %s/%s within %.1fs: stopped leading",
                                     self.client.namespace, self.client.name, self.renew_deadline)
                    break
            self._set_leading(False)
            # Then campaign again, as the collector's extension does after a loss.

    def _set_leading(self, leading: bool) -> bool:
        """Flip state and run the callback outside the lock; returns the previous state."""
        with self._lock:
            was = self._leading
            if was == leading:
                return was
            self._leading = leading
        if leading:
            self.transitions += 1
            self.log.info("became leader of lease %s/%s as %s", self.client.namespace,
                          self.client.name, self.identity)
            cb = self.on_start_leading
        else:
            self.log.info("stopped leading lease %s/%s", self.client.namespace, self.client.name)
            cb = self.on_stop_leading
        try:
            cb()
        except Exception:
            self.log.exception("leader election callback failed")
        return was

    def _try_acquire_or_renew(self) -> bool:
        now_wall = _micro_time()
        try:
            lease = self.client.get()
            if lease is None:
                self.client.create(self._spec(now_wall, now_wall, 0), self._annotations_copy())
                self._observe(("created", self.identity), self._now())
                return True
            spec = lease.get("spec") or {}
            holder = spec.get("holderIdentity") or ""
            key = (holder, spec.get("renewTime"), (lease.get("metadata") or {}).get("resourceVersion"))
            if key != self._observed_key:
                self._observe(key, self._now())
            duration = float(spec.get("leaseDurationSeconds") or self.lease_duration)
            expired = self._observed_at + duration <= self._now()
            if holder and holder != self.identity and not expired:
                return False
            transitions = int(spec.get("leaseTransitions") or 0)
            acquire = spec.get("acquireTime") or now_wall
            annotations = self._annotations_copy()
            if holder != self.identity:
                transitions += 1 if holder else 0
                acquire = now_wall
                # Taking over: the lease's state is newer than anything we remember from an
                # earlier term of ours.
                annotations = {**annotations, **((lease.get("metadata") or {}).get("annotations") or {})}
            updated = self.client.replace(lease, self._spec(acquire, now_wall, transitions), annotations)
            if holder != self.identity:
                with self._ann_lock:
                    self._annotations = dict((updated.get("metadata") or {}).get("annotations") or {})
            uspec = updated.get("spec") or {}
            self._observe((self.identity, uspec.get("renewTime"),
                           (updated.get("metadata") or {}).get("resourceVersion")), self._now())
            return True
        except Exception as e:  # 409 from a racing candidate, API down, timeouts: retry later
            self.errors += 1
            self.log.debug("lease %s: acquire/renew failed: %s", self.client.name, e)
            return False

    def _observe(self, key: tuple, at: float) -> None:
        self._observed_key = key
        self._observed_at = at

    def _spec(self, acquire: str, renew: str, transitions: int) -> dict:
        return {"holderIdentity": self.identity, "leaseDurationSeconds": max(1, int(round(self.lease_duration))),
                "acquireTime": acquire, "renewTime": renew, "leaseTransitions": transitions}

    def _release(self) -> None:
        lease = self.client.get()
        if lease is None or (lease.get("spec") or {}).get("holderIdentity") != self.identity:
            return
        spec = dict(lease.get("spec") or {})
        # client-go's release: no holder, a 1 s duration, so candidates need not wait it out.
        spec.update({"holderIdentity": "", "leaseDurationSeconds": 1, "renewTime": _micro_time()})
        annotations = {**((lease.get("metadata") or {}).get("annotations") or {}), **self._annotations_copy()}
        self.client.replace(lease, spec, annotations)  # our last state goes to the next leader
