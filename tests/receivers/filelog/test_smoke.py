from .harness import POD_DIR, Host, RecordingConsumer, cri, make_receiver, stop, wait_count


def test_reads_cri_lines_from_beginning(tmp_path):
    d = tmp_path / POD_DIR / "app"
    d.mkdir(parents=True)
    f = d / "0.log"
    f.write_text("".join(cri(i, f"line {i}") for i in range(10)))
    host = Host(tmp_path / "state")
    c = RecordingConsumer()
    r = make_receiver(c, host, {"include": [str(tmp_path / "*/*/*.log")], "start_at": "beginning",
                                "operators": [{"type": "container"}]})
    try:
        assert wait_count(c, 10)
        assert c.bodies() == [f"line {i}" for i in range(10)]
        res, lr = c.records()[0]
        assert res["k8s.pod.name"] == "pod-a"
        assert lr.time_unix_nano % 1_000_000_000 == 0
    finally:
        stop(r)
        host.close()
