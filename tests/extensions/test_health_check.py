import json
import time
import urllib.error
import urllib.request

from collector.testing import free_port
from tests.engine.test_service import service

CFG = """
receivers: {fake: {}}
exporters: {fakeexp: {}}
extensions: {health_check: {endpoint: "127.0.0.1:%d"}}
service:
  extensions: [health_check]
  telemetry: {metrics: {level: none}}
  pipelines: {logs: {receivers: [fake], exporters: [fakeexp]}}
"""


def get(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_200_only_while_running():
    port = free_port()
    svc = service(CFG % port)
    ext = svc.get_extension("health_check")
    ext.start(svc)  # serve before the pipelines start, to see the 503
    code, body = get(port)
    assert code == 503 and body["status"] == "Server not available"
    ext.shutdown(0)
    svc.start()
    try:
        code, body = get(port)
        assert code == 200 and body["status"] == "Server available"
    finally:
        svc.shutdown(time.monotonic() + 2)
