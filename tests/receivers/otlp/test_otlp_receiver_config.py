"""otlp receiver config: keys and defaults as otelcol's otlpreceiver, errors naming the key."""
from __future__ import annotations

import os

import pytest
import yaml

from collector.config import ConfigErrors, decode, load_config
from collector.config.tls import TLSServerConfig
from collector.receivers.otlp import factory
from collector.receivers.otlp.config import (Config, CORSConfig, GRPCConfig, HTTPConfig, KeepaliveConfig,
                                             KeepaliveEnforcementPolicy, KeepaliveServerParameters, Protocols)

HERE = os.path.dirname(os.path.abspath(__file__))


def load(name):
    with open(os.path.join(HERE, "testdata", "config.yaml")) as f:
        raw = yaml.safe_load(f)["receivers"][name]
    return decode(factory.config_class, raw, f"receivers.{name}")


def test_listed_protocols_with_no_value_get_the_collector_defaults():
    assert load("otlp") == Config(protocols=Protocols(
        grpc=GRPCConfig(endpoint="localhost:4317", max_recv_msg_size_mib=4, max_concurrent_streams=0),
        http=HTTPConfig(endpoint="localhost:4318", traces_url_path="/v1/traces", metrics_url_path="/v1/metrics",
                        logs_url_path="/v1/logs", max_request_body_size=20 * 1024 * 1024)))


def test_every_key_decodes():
    assert load("otlp/custom") == Config(protocols=Protocols(
        grpc=GRPCConfig(endpoint="0.0.0.0:14317", max_recv_msg_size_mib=32, max_concurrent_streams=16,
                        tls=TLSServerConfig(cert_file="/certs/server.crt", key_file="/certs/server.key",
                                            client_ca_file="/certs/ca.crt"),
                        keepalive=KeepaliveConfig(
                            server_parameters=KeepaliveServerParameters(max_connection_age=30.0, time=60.0),
                            enforcement_policy=KeepaliveEnforcementPolicy(min_time=10.0, permit_without_stream=True))),
        http=HTTPConfig(endpoint="[::]:14318", traces_url_path="/custom/traces",
                        metrics_url_path="/custom/metrics",  # a leading slash is added, as otelcol does
                        logs_url_path="/v1/logs", max_request_body_size=1024 * 1024,
                        cors=CORSConfig(allowed_origins=["https://*.example.com"], max_age=7200))))


def test_a_protocol_not_listed_is_not_served():
    cfg = load("otlp/http_only")
    assert cfg.protocols.grpc is None and cfg.protocols.http.endpoint == "127.0.0.1:4318"


def errors_of(raw):
    with pytest.raises(ConfigErrors) as e:
        decode(Config, raw, "receivers.otlp")
    return str(e.value)


def test_no_protocol_is_an_error():
    assert errors_of({}) == "receivers.otlp.protocols: must specify at least one protocol when using the OTLP receiver"
    assert "at least one protocol" in errors_of({"protocols": {}})


def test_unknown_keys_and_wrong_types_name_the_key():
    msg = errors_of({"protocols": {"grpc": {"endpoint": "localhost:4317", "max_recv_msg_size": 4}}})
    assert msg.startswith("receivers.otlp.protocols.grpc.max_recv_msg_size: unknown key")
    assert errors_of({"protocols": {"thrift": {}}}).startswith("receivers.otlp.protocols.thrift: unknown key")
    msg = errors_of({"protocols": {"http": {"max_request_body_size": "lots"}}})
    assert msg.startswith("receivers.otlp.protocols.http.max_request_body_size: invalid size")
    msg = errors_of({"protocols": {"grpc": {"endpoint": "4317"}}})
    assert msg == "receivers.otlp.protocols.grpc.endpoint: endpoint '4317' must be host:port"
    msg = errors_of({"protocols": {"grpc": {"tls": {"client_ca_file": "/ca"}}}})
    assert msg.startswith("receivers.otlp.protocols.grpc.tls.cert_file:")


def test_same_path_for_two_signals_is_an_error():
    msg = errors_of({"protocols": {"http": {"logs_url_path": "/v1/traces"}}})
    assert msg.startswith("receivers.otlp.protocols.http.traces_url_path: ")


def test_whole_config_file_with_the_otlp_receiver_validates():
    cfg = load_config(["yaml:" + """
receivers: {otlp: {protocols: {grpc: {endpoint: "127.0.0.1:0"}, http: }}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}, logs: {receivers: [otlp], exporters: [debug]}}}
"""], [], {})
    assert cfg is not None
    with pytest.raises(ConfigErrors) as e:
        load_config(["yaml:" + """
receivers: {otlp: {protocols: {grpc: {endpont: x}}}}
exporters: {debug: {}}
service: {pipelines: {traces: {receivers: [otlp], exporters: [debug]}}}
"""], [], {})
    assert "receivers.otlp.protocols.grpc.endpont: unknown key" in str(e.value)


def test_keepalive_maps_to_grpc_channel_arguments():
    cfg = load("otlp/custom").protocols.grpc.keepalive
    assert cfg.grpc_options() == [("grpc.max_connection_age_ms", 30000), ("grpc.keepalive_time_ms", 60000),
                                  ("grpc.http2.min_ping_interval_without_data_ms", 10000),
                                  ("grpc.keepalive_permit_without_calls", 1)]
