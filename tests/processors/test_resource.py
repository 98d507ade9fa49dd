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


def errors_of(actions):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, {"attributes": actions}, "processors.resource")
    return str(e.value)


def test_action_is_required_and_any_case_as_attraction():
    assert "processors.resource.attributes[0].action: unsupported action ''" in errors_of([{"key": "a", "value": 1}])
    out = run([{"key": "a", "value": "x", "action": "INSERT"}, {"key": "b", "value": "y", "action": "Upsert"}], attrs())
    assert out == {"a": "x", "b": "y"}


@pytest.mark.parametrize("action,key", [
    ({"key": "a", "action": "insert", "value": 1, "pattern": "x"}, "pattern"),
    ({"key": "a", "action": "upsert", "value": 1, "converted_type": "int"}, "converted_type"),
    ({"key": "a", "action": "delete", "value": 1}, "value"),
    ({"key": "a", "action": "extract", "pattern": "(?P<x>.*)", "value": 1}, "value"),
    ({"key": "a", "action": "extract", "pattern": "(?P<x>a)(b)"}, "pattern"),
    ({"key": "a", "action": "convert", "converted_type": "bool"}, "converted_type"),
    ({"action": "hash"}, "key"),
])
def test_fields_an_action_does_not_use_are_errors(action, key):
    assert f"processors.resource.attributes[0].{key}:" in errors_of([action])


def test_delete_and_hash_by_pattern_match_anywhere_in_the_key():
    out = run([{"pattern": "pod", "action": "delete"}, {"pattern": r"^user\.", "action": "hash"}],
              attrs(k8s_pod_name="p", k8s_pod_uid="u", user_id="42", user_email="e", host_name="h"))
    assert set(out) == {"user.id", "user.email", "host.name"}
    assert len(out["user.id"]) == 64 and len(out["user.email"]) == 64 and out["host.name"] == "h"


def test_from_context_metadata_finds_nothing_as_without_include_metadata():
    out = run([{"key": "tenant", "from_context": "metadata.x-tenant", "action": "insert"},
               {"key": "peer", "from_context": "client.address", "action": "insert"}], attrs(), client_addr="10.0.0.1")
    assert out == {"peer": "10.0.0.1"}
