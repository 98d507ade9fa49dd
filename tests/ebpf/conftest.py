"""Shared fixtures: a real apm receiver with its BPF program loaded (one compile per module)."""
from __future__ import annotations

import logging
import os
import subprocess
import sys
import time

import pytest

from collector.component import ComponentID, CreateSettings
from collector.config.decode import decode
from collector.telemetry import Telemetry
from ebpf.config import Config

HERE = os.path.dirname(os.path.abspath(__file__))


class CapturingConsumer:
    def __init__(self):
        self.payloads = []

    def consume(self, payload):
        self.payloads.append(payload)
        payload.ack(True)


class FakeHost:
    def __init__(self):
        self.statuses = []

    def report_status(self, component_id, healthy, message=""):
        self.statuses.append((component_id, healthy, message))

    def get_extension(self, component_id):
        raise KeyError(component_id)


def make_settings(name="apm"):
    tel = Telemetry()
    return CreateSettings(id=ComponentID.parse(name), kind="receiver",
                          logger=logging.getLogger(f"collector.receiver.{name}"),
                          telemetry=tel.component("receiver", name)), tel


def start_receiver(raw: dict, load_timeout: float = 90.0):
    """Starts a real receiver; skips (printing why) only when BPF cannot load here."""
    from ebpf.receiver import create

    cfg = decode(Config, raw, "receivers.apm")
    settings, tel = make_settings()
    consumer = CapturingConsumer()
    rcv = create(settings, cfg, {"metrics": consumer})
    host = FakeHost()
    rcv.start(host)
    if not rcv.ready.wait(load_timeout):
        rcv.shutdown(time.monotonic() + 5)
        pytest.fail("apm receiver did not load its BPF program in time")
    if rcv.unavailable:
        rcv.shutdown(time.monotonic() + 5)
        print(f"SKIP reason: BPF cannot load here: {rcv.unavailable}")
        pytest.skip(f"BPF cannot load here: {rcv.unavailable}")
    rcv.telemetry = tel
    rcv.consumer_capture = consumer
    rcv.host = host
    return rcv


def run_workload(script: str, *args, env=None, timeout=60):
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.Popen([sys.executable, os.path.join(HERE, script), *map(str, args)],
                            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_file(path, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                return f.read().strip()
        time.sleep(0.02)
    raise TimeoutError(path)


def series_for(store, metric, **match):
    """Sum of values (or histogram counts) of series whose resource+attributes contain match."""
    out = {}
    for (res, attrs), v in store.series(metric).items():
        d = dict(res) | dict(attrs)
        if all(d.get(k) == val for k, val in match.items()):
            out[(res, attrs)] = v
    return out


def total(store, metric, **match):
    vals = series_for(store, metric, **match).values()
    return sum(v[0] if isinstance(v, tuple) else v for v in vals)


def lost(receiver) -> dict:
    """The receiver's lost-event counters by reason, for assertion messages."""
    out = {}
    for fam in receiver.telemetry.registry.collect():
        for smp in fam.samples:
            if smp.name == "skuber_apm_events_lost_total":
                out[smp.labels["reason"]] = smp.value
    return out
