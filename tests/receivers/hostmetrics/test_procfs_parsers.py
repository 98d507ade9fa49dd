"""The /proc parsers skip malformed lines rather than failing the whole file."""
import pytest

from collector.receivers.hostmetrics import pidstat, procfs


def test_stat_cpus_skips_bad_lines_and_pads_old_kernels():
    text = "cpu  1 2 3 4\ncpu0 100 0 50 1000\ncpu1 x y z\ncpu2 1\nintr 5\n"
    assert procfs.parse_stat_cpus(text, 100) == {
        "cpu0": {"user": 1.0, "nice": 0.0, "system": 0.5, "idle": 10.0, "iowait": 0.0, "irq": 0.0,
                 "softirq": 0.0, "steal": 0.0, "guest": 0.0, "guest_nice": 0.0}}


def test_mountinfo_unescapes_and_joins_options():
    line = r"36 35 98:0 /mnt1 /mnt/with\040space\011tab rw,noatime master:1 - ext3 /dev/root rw,errors=continue"
    (m,) = procfs.parse_mountinfo(line + "\nnot a mountinfo line\n")
    assert (m.device, m.mountpoint, m.fstype) == ("/dev/root", "/mnt/with space\ttab", "ext3")
    assert m.options == ["rw", "noatime", "rw", "errors=continue"]


def test_diskstats_and_net_dev_skip_garbage():
    disks = procfs.parse_diskstats("8 0 sda 1 2 3 4 5 6 7 8 9 10 11\n8 1 sdb x 2 3 4 5 6 7 8 9 10 11\n1 2\n")
    assert [d.name for d in disks] == ["sda"] and disks[0].weighted_ms == 11
    dev = procfs.parse_net_dev("h\nh\n eth0: 1 2 3 4 0 0 0 0 5 6 7 8 0 0 0 0\n bad: 1 2\n noint: a b c d e f g h i j k l m n o p\n")
    assert [(d.name, d.rx_bytes, d.tx_drop) for d in dev] == [("eth0", 1, 8)]


def test_tcp_state_counting_ignores_headers_and_unknown_states():
    counts = {}
    procfs.count_tcp_states("  sl  local_address rem_address   st\n"
                            "   0: 0100007F:0CEA 00000000:0000 0A 0:0 00:0 0 0 0 1\n"
                            "   1: 0100007F:0CEA 00000000:0000 0c 0:0 00:0 0 0 0 1\n"
                            "   2: 0100007F:0CEA 00000000:0000 ZZ 0:0 00:0 0 0 0 1\n", counts)
    assert counts == {"LISTEN": 1}


def test_swaps_rejects_an_unexpected_header():
    with pytest.raises(ValueError):
        procfs.parse_swaps("Name Type\n/dev/x partition 1 1 1\n")


def test_pid_stat_comm_with_spaces_and_parentheses():
    st = pidstat.parse_pid_stat("9 (a (b) c) S 1 9 9 0 -1 0 11 0 12 0 13 14 0 0 20 0 3 0 99 4096 7")
    assert (st.comm, st.state, st.ppid, st.minflt, st.majflt, st.utime_ticks, st.stime_ticks,
            st.num_threads, st.start_ticks, st.vsize, st.rss_pages, st.blkio_ticks) == \
        ("a (b) c", "S", 1, 11, 12, 13, 14, 3, 99, 4096, 7, 0)


def test_status_lookup_by_key_matches_full_parse():
    text = "Name:\tx\nUid:\t5\t5\t5\t5\nSigQ:\t1/10\nvoluntary_ctxt_switches:\t3\nnonvoluntary_ctxt_switches:\t4"
    full = pidstat.parse_status(text)
    keys = ["Uid", "SigQ", "voluntary_ctxt_switches", "nonvoluntary_ctxt_switches", "Missing"]
    assert pidstat.parse_status(text, keys) == {k: full[k] for k in keys if k in full}


def test_cmdline_and_passwd():
    assert pidstat.parse_cmdline(b"/bin/sh\0-c\0echo hi\0") == ["/bin/sh", "-c", "echo hi"]
    assert pidstat.parse_cmdline(b"") == []
    assert pidstat.parse_passwd("root:x:0:0::/:/bin/sh\nbad\nweird:x:notanumber:0::/:\n") == {0: "root"}


def test_garbage_meminfo_fails_only_the_memory_scraper(node_copy, make):
    root, fs = node_copy
    (root / "proc/meminfo").write_text("this is not meminfo\n")
    with pytest.raises(ValueError, match="MemTotal"):
        make("memory", fs).scrape()
    rms, errors = make("load", fs).scrape()
    assert rms and errors == []
