import pytest

from collector import pdata
from collector.config import ConfigErrors, decode
from collector.processors.resource import Config, apply_actions


def attrs(**kv):
    req = pdata.new_request("logs")
    rs = req.resource_logs.add()
    for k, v in kv.items():
        pdata.set_attr(rs.resource.attributes, k.replace("_", "."), v)
    return rs.resource.attributes


def run(actions, a, client_addr=None):
    cfg = decode(Config, {"attributes": actions})
    apply_actions(a, cfg.attributes, client_addr)
    return pdata.attrs_to_dict(a)


def test_insert_update_upsert_delete():
    a = attrs(k8s_cluster_name="old", host_name="h")
    out = run([
        {"key": "k8s.cluster.name", "value": "new", "action": "insert"},      # exists: untouched
        {"key": "deployment.environment.name", "value": "prod", "action": "insert"},
        {"key": "host.name", "value": "h2", "action": "update"},
        {"key": "missing", "value": "x", "action": "update"},                # absent: untouched
        {"key": "k8s.cluster.name", "value": "c1", "action": "upsert"},
        {"key": "copy", "from_attribute": "host.name", "action": "upsert"},
        {"key": "peer", "from_context": "client.address", "action": "insert"},
        {"key": "gone", "value": 1, "action": "insert"},
        {"key": "gone", "action": "delete"},
    ], a, client_addr="10.0.0.7")
    assert out == {"k8s.cluster.name": "c1", "host.name": "h2", "deployment.environment.name": "prod", "copy": "h2", "peer": "10.0.0.7"}


def test_hash_and_convert():
    out = run([{"key": "user", "action": "hash"}, {"key": "n", "action": "convert", "converted_type": "int"}], attrs(user="bob", n="42"))
    assert out["n"] == 42 and len(out["user"]) == 64


def test_typed_values_keep_their_type():
    out = run([{"key": "i", "value": 3, "action": "upsert"}, {"key": "b", "value": True, "action": "upsert"}], attrs())
    assert out == {"i": 3, "b": True}


def test_upsert_without_value_is_an_error():
    with pytest.raises(ConfigErrors) as e:
        decode(Config, {"attributes": [{"key": "a", "action": "upsert"}]}, "processors.resource")
    assert str(e.value).startswith("processors.resource.attributes[0].value:")
