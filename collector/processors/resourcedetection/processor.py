"""The resourcedetection processor: detects the host's resource once at start (within
`timeout`, and again every refresh_interval when set) and merges it into every resource of
every payload that passes.

Detectors run in the configured order and the first one to set a key wins (as upstream's
ResourceProvider merges). With override: true a detected key replaces the data's value;
with false the data's own value is kept.
"""
from __future__ import annotations

import os
import threading
import time

from collector import pdata
from collector.component import Component

from . import env_detector, k8snode_detector, system_detector


def detect_all(config, environ, log) -> dict[str, object]:
    merged: dict[str, object] = {}
    for name in config.detectors:
        try:
            if name == "env":
                found = env_detector.detect(environ)
            elif name == "system":
                found = system_detector.detect(config.system, environ, log)
            else:
                found = k8snode_detector.detect(config.k8snode, environ, log)
        except (OSError, ValueError) as e:  # what detectors raise for a host that lacks the data
            log.warning("resourcedetection: detector %s failed: %s", name, e)
            continue
        except Exception:  # a bug (or a library surprise) in one detector must not void the others
            log.exception("resourcedetection: detector %s failed unexpectedly", name)
            continue
        for k, v in found.items():
            merged.setdefault(k, v)
    if config.attributes:  # as upstream: an empty list keeps everything, it filters nothing
        keep = set(config.attributes)
        merged = {k: v for k, v in merged.items() if k in keep}
    return merged


class ResourceDetectionProcessor(Component):
    def __init__(self, settings, config, signal: str, next_consumer, environ=None) -> None:
        self.settings = settings
        self.config = config
        self.signal = signal
        self.next = next_consumer
        self.environ = os.environ if environ is None else environ
        self.log = settings.logger
        self.attributes: list[tuple[str, object]] = []
        self._stop = threading.Event()
        self._refresher: threading.Thread | None = None

    def detect(self) -> dict[str, object]:
        """Run the detectors in a worker bounded by `timeout` (a DNS lookup can hang)."""
        result: dict[str, object] = {}

        def work():
            result.update(detect_all(self.config, self.environ, self.log))
        t = threading.Thread(target=work, name="resourcedetection", daemon=True)
        t.start()
        t.join(self.config.timeout)
        if t.is_alive():
            self.log.warning("resourcedetection: detection did not finish within %ss; "
                             "continuing without it", self.config.timeout)
            return {}
        return result

    def start(self, host) -> None:
        found = self.detect()
        self.attributes = list(found.items())
        self.log.info("resourcedetection: detected %s", found)
        if self.config.refresh_interval > 0:
            self._refresher = threading.Thread(target=self._refresh, daemon=True,
                                               name="resourcedetection-refresh")
            self._refresher.start()

    def _refresh(self) -> None:
        while not self._stop.wait(self.config.refresh_interval):
            found = self.detect()
            if found:
                self.attributes = list(found.items())  # one assignment: consumers see old or new

    def shutdown(self, deadline: float) -> None:
        self._stop.set()
        if self._refresher is not None:
            self._refresher.join(max(0.0, deadline - time.monotonic()))

    def consume(self, payload) -> None:
        attrs_to_set = self.attributes
        if attrs_to_set:
            overwrite = self.config.override
            for rs in pdata.resources(self.signal, payload.request):
                attrs = rs.resource.attributes
                for key, value in attrs_to_set:
                    pdata.set_attr(attrs, key, value, overwrite=overwrite)
        self.next.consume(payload)
