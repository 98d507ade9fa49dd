"""Container log line parsing, from real samples of each runtime's format."""
import calendar

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from collector.receivers.filelog.config import ContainerOperator
from collector.receivers.filelog.container import (PartialJoiner, detect_format, parse_cri_line,
                                                  parse_docker_line, parse_time)
from collector.receivers.filelog.line_batch import LineStats, encode_lines
from collector.receivers.filelog.otlp_encoding import RecordWriter, attributes, resource_head


def ns(y, mo, d, h, mi, s, frac_ns=0):
    return calendar.timegm((y, mo, d, h, mi, s, 0, 0, 0)) * 1_000_000_000 + frac_ns


def run(lines, op=None, joiner=None, unterminated=False, fmt=""):
    op = op or ContainerOperator(format=fmt)
    joiner = joiner or PartialJoiner(1 << 20)
    w = RecordWriter(resource_head([("k8s.pod.name", "p")]), 42)
    stats = LineStats()
    encode_lines(lines, w, op=op, joiner=joiner, attr_cache={}, file_attrs=attributes([("log.file.name", "0.log")]),
                 codec="utf-8", last_unterminated=unterminated, stats=stats)
    req = ExportLogsServiceRequest.FromString(w.request())
    recs = [lr for rl in req.resource_logs for sl in rl.scope_logs for lr in sl.log_records]
    return recs, stats, joiner


def attrs(lr):
    return {kv.key: kv.value.string_value for kv in lr.attributes}


def test_containerd_line_keeps_nanoseconds_and_stream():
    recs, stats, _ = run([b"2023-06-22T10:27:25.813799277Z stderr F standalone containerd line"])
    (lr,) = recs
    assert lr.body.string_value == "standalone containerd line"
    assert lr.time_unix_nano == ns(2023, 6, 22, 10, 27, 25, 813799277)
    assert lr.observed_time_unix_nano == 42
    assert attrs(lr) == {"log.iostream": "stderr", "logtag": "F", "log.file.name": "0.log"}
    assert stats.parse_errors == 0


def test_crio_offset_timestamp_is_converted_to_utc():
    recs, _, _ = run([b"2024-04-13T07:59:37.505201169-05:00 stdout F standalone crio line which is awesome"])
    assert recs[0].time_unix_nano == ns(2024, 4, 13, 12, 59, 37, 505201169)
    assert recs[0].body.string_value == "standalone crio line which is awesome"


@pytest.mark.parametrize("ts,expected", [
    (b"2024-04-13T07:59:37.5+02:00", ns(2024, 4, 13, 5, 59, 37, 500000000)),
    (b"2024-04-13T07:59:37Z", ns(2024, 4, 13, 7, 59, 37)),
    (b"2024-04-13T07:59:37.123456Z", ns(2024, 4, 13, 7, 59, 37, 123456000)),
    (b"2024-02-29T23:59:59.999999999+00:00", ns(2024, 2, 29, 23, 59, 59, 999999999)),
])
def test_rfc3339_variants(ts, expected):
    assert parse_time(ts) == expected


@pytest.mark.parametrize("bad", [b"2024-13-13T07:59:37Z", b"yesterday", b"2024-04-13T07:59:37", b""])
def test_bad_timestamps_raise(bad):
    with pytest.raises(ValueError):
        parse_time(bad)


def test_docker_json_escapes_and_unicode():
    line = (b'{"log":"caf\\u00e9 \\"quoted\\" \\ud83d\\ude00 tab\\t\\n","stream":"stderr",'
            b'"time":"2024-03-30T08:31:20.545192187Z"}')
    recs, stats, _ = run([line])
    (lr,) = recs
    assert lr.body.string_value == "caf\u00e9 \"quoted\" \U0001F600 tab\t\n"
    assert lr.time_unix_nano == ns(2024, 3, 30, 8, 31, 20, 545192187)
    assert attrs(lr)["log.iostream"] == "stderr"
    assert "logtag" not in attrs(lr)


def test_docker_lone_surrogate_is_replaced_not_a_crash():
    recs, stats, _ = run([b'{"log":"bad \\ud800 end","stream":"stdout","time":"2024-03-30T08:31:20Z"}'])
    assert recs[0].body.string_value == "bad ? end"


def test_partial_lines_are_joined_up_to_final_line():
    lines = [b"2023-06-22T10:27:25.000000001Z stdout P multiline containerd line that i",
             b"2023-06-22T10:27:25.000000002Z stdout P s super ",
             b"2023-06-22T10:27:25.000000003Z stdout F awesome",
             b"2023-06-22T10:27:26.000000000Z stdout F next"]
    recs, _, joiner = run(lines)
    assert [r.body.string_value for r in recs] == ["multiline containerd line that is super awesome", "next"]
    # As the collector's recombine: the first part's time and logtag P; then a plain F line.
    assert recs[0].time_unix_nano == ns(2023, 6, 22, 10, 27, 25, 1)
    assert attrs(recs[0])["logtag"] == "P" and attrs(recs[1])["logtag"] == "F"
    assert not joiner.pending


def test_pending_partial_stays_in_joiner_with_its_raw_size():
    lines = [b"2023-06-22T10:27:25.000000001Z stdout F whole", b"2023-06-22T10:27:25.000000002Z stdout P half"]
    recs, _, joiner = run(lines)
    assert [r.body.string_value for r in recs] == ["whole"]
    assert joiner.pending and joiner.raw_bytes == len(lines[1]) + 1
    recs, _, joiner = run([b"2023-06-22T10:27:25.000000003Z stdout F  done"], joiner=joiner)
    assert [r.body.string_value for r in recs] == ["half done"]


def test_partial_join_is_bounded_by_max_log_size():
    lines = [b"2023-06-22T10:27:25.000000001Z stdout P " + b"a" * 6 for _ in range(5)]
    lines.append(b"2023-06-22T10:27:25.000000002Z stdout F end")
    recs, _, _ = run(lines, joiner=PartialJoiner(10))
    assert [r.body.string_value for r in recs] == ["a" * 12, "a" * 12, "a" * 6 + "end"]


def test_empty_messages():
    recs, stats, _ = run([b"2023-06-22T10:27:25.813799277Z stdout F", b"2023-06-22T10:27:25.813799277Z stdout F "])
    assert [r.body.string_value for r in recs] == ["", ""]
    assert recs[0].body.HasField("string_value")
    assert stats.parse_errors == 0


def test_invalid_utf8_is_replaced_and_counted():
    recs, stats, _ = run([b"2023-06-22T10:27:25.813799277Z stdout F bad \xff\xfe byte", "ok \u00e9".encode()])
    assert recs[0].body.string_value == "bad \ufffd\ufffd byte"
    assert stats.invalid_utf8 == 1


def test_unparsable_line_is_sent_raw_and_counted():
    recs, stats, _ = run([b"not a container line", b"2023-06-22T10:27:25Z stdnothing F x"])
    assert [r.body.string_value for r in recs] == ["not a container line", "2023-06-22T10:27:25Z stdnothing F x"]
    assert stats.parse_errors == 2
    assert recs[0].time_unix_nano == 0


def test_timestamps_outside_otlp_range_are_parse_errors_not_a_crash():
    # OTLP times are unsigned 64-bit nanoseconds: 1970 to 2554.
    lines = [b"9999-06-22T10:27:25.813799277Z stdout F far", b"2600-01-01T00:00:00+01:00 stdout F far",
             b'{"log":"old","stream":"stdout","time":"1960-03-30T08:31:20Z"}',
             b"2023-06-22T10:27:25.813799277Z stdout F kept"]
    recs, stats, _ = run(lines)
    assert [r.body.string_value for r in recs] == [lines[0].decode(), lines[1].decode(), lines[2].decode(), "kept"]
    assert stats.parse_errors == 3


def test_on_error_drop_skips_and_counts():
    recs, stats, _ = run([b"junk", b"2023-06-22T10:27:25.813799277Z stdout F kept"],
                         op=ContainerOperator(on_error="drop"))
    assert [r.body.string_value for r in recs] == ["kept"]
    assert stats.dropped == 1


def test_fixed_format_rejects_the_other_cri_flavour():
    recs, stats, _ = run([b"2024-04-13T07:59:37.505201169-05:00 stdout F crio"], fmt="containerd")
    assert stats.parse_errors == 1


def test_format_detection():
    assert detect_format(b'{"log":"x"}') == "docker"
    assert detect_format(b"2023-06-22T10:27:25.813799277Z stdout F x") == "containerd"
    assert detect_format(b"2024-04-13T07:59:37.505201169-05:00 stderr F x") == "crio"
    assert detect_format(b"hello world") is None


def test_parse_helpers():
    assert parse_cri_line(b"2023-06-22T10:27:25.813799277Z stdout P x y")[1:] == (b"stdout", b"P", b"x y")
    assert parse_cri_line(b"2023-06-22T10:27:25.813799277Z stdout") is None
    assert parse_docker_line(b'{"log": 5}') is None
    assert parse_docker_line(b"[1]") is None


from hypothesis import given, settings, strategies as st  # noqa: E402

line_bytes = st.one_of(
    st.binary(max_size=200),
    st.builds(lambda ts, s, tag, msg: b" ".join((ts, s, tag, msg)),
              st.sampled_from([b"2023-06-22T10:27:25.813799277Z", b"2024-04-13T07:59:37.5-05:00", b"2024-99-99T99:99:99Z",
                               b"9999-06-22T10:27:25.813799277Z", b"1960-01-01T00:00:00Z",
                               b"2023-06-22T10:27:25.81379927xZ", b""]),
              st.sampled_from([b"stdout", b"stderr", b"stdin"]), st.sampled_from([b"F", b"P", b"", b"X"]),
              st.binary(max_size=60)),
    st.builds(lambda body: b'{"log":' + body + b',"stream":"stdout","time":"2024-03-30T08:31:20Z"}',
              st.binary(max_size=40)),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(line_bytes, max_size=20))
def test_any_input_encodes_to_valid_records_without_crashing(lines):
    joiner = PartialJoiner(64)
    recs, stats, joiner = run([l.replace(b"\n", b"") for l in lines], joiner=joiner)
    assert len(recs) <= len(lines)
    for r in recs:
        r.body.string_value.encode("utf-8")  # valid UTF-8 strings only


def _bodies(lines, op, trim):
    w = RecordWriter(resource_head([]), 1)
    encode_lines(lines, w, op=op, joiner=PartialJoiner(1 << 20), attr_cache={}, file_attrs=b"", codec="utf-8",
                 last_unterminated=False, stats=LineStats(), trim=trim)
    req = ExportLogsServiceRequest.FromString(w.request())
    return [lr.body.string_value for rl in req.resource_logs for sl in rl.scope_logs for lr in sl.log_records]


def test_whitespace_is_trimmed_as_fileconsumer_does_unless_preserved():
    plain = [b"  indented line \t\r", b"\tx"]
    assert _bodies(plain, None, (True, True)) == ["indented line", "x"]
    assert _bodies(plain, None, (False, True)) == ["  indented line", "\tx"]
    assert _bodies(plain, None, (True, False)) == ["indented line \t\r", "x"]
    assert _bodies(plain, None, (False, False)) == ["  indented line \t\r", "\tx"]
    cri = [b"2023-06-22T10:27:25.000000001Z stdout F done  \r", b"2023-06-22T10:27:25.000000002Z stdout F\r"]
    assert _bodies(cri, ContainerOperator(), (True, True)) == ["done", ""]
    assert _bodies(cri, ContainerOperator(), (True, False)) == ["done  \r", ""]


def test_a_partial_lines_trailing_blanks_are_kept_when_joining():
    lines = [b"2023-06-22T10:27:25.000000001Z stdout P two ", b"2023-06-22T10:27:25.000000002Z stdout F words  "]
    assert _bodies(lines, ContainerOperator(), (True, True)) == ["two words"]
