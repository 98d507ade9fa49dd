"""The hand-written protobuf bytes equal what the protobuf library builds."""
from hypothesis import given, settings, strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.receivers.filelog.otlp_encoding import RecordWriter, attributes, resource_head, varint


def expected(resource, records, observed):
    req = ExportLogsServiceRequest()
    rl = req.resource_logs.add()
    for k, v in resource:
        kv = rl.resource.attributes.add()
        kv.key, kv.value.string_value = k, v
    sl = rl.scope_logs.add()
    for t, body, attrs in records:
        lr = sl.log_records.add()
        lr.time_unix_nano = t
        lr.observed_time_unix_nano = observed
        lr.body.string_value = body
        for k, v in attrs:
            kv = lr.attributes.add()
            kv.key, kv.value.string_value = k, v
    return req


text = st.text(max_size=40)
record = st.tuples(st.integers(0, 2**64 - 1), st.one_of(text, st.builds(lambda c, n: c * n, st.characters(), st.integers(16000, 17000))),
                   st.lists(st.tuples(text, text), max_size=3))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(text, text), max_size=4), st.lists(record, max_size=6), st.integers(0, 2**64 - 1))
def test_request_bytes_parse_to_the_same_message(resource, records, observed):
    w = RecordWriter(resource_head(resource), observed)
    for t, body, attrs in records:
        w.add(t, body.encode("utf-8"), attributes(attrs))
    got = ExportLogsServiceRequest.FromString(w.request())
    assert got == expected(resource, records, observed)
    assert w.count == len(records)


def test_varint_matches_protobuf():
    for n in (0, 1, 127, 128, 300, 16383, 16384, 2**21, 2**35):
        assert varint(n) == (lambda: __import__("google.protobuf.internal.encoder", fromlist=["x"])._VarintBytes(n))()
