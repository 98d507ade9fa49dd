"""Clear messages when BPF cannot run, and the feature probe."""
from __future__ import annotations

import pytest

from ebpf import bpf_program as bp

ALL = (1 << bp.CAP_BPF) | (1 << bp.CAP_PERFMON) | (1 << bp.CAP_SYS_PTRACE)


def test_old_kernel_names_the_fix():
    with pytest.raises(bp.ApmUnavailable) as e:
        bp.check_prerequisites("5.4.0-150-generic", ALL)
    assert "older than 5.8" in str(e.value) and "apmAgent.enabled=false" in str(e.value)


@pytest.mark.parametrize("caps,missing", [(0, "CAP_BPF"), (1 << bp.CAP_BPF, "CAP_PERFMON")])
def test_missing_capability_is_named(caps, missing):
    with pytest.raises(bp.ApmUnavailable) as e:
        bp.check_prerequisites("6.1.0", caps)
    assert missing in str(e.value) and "apmAgent.enabled=false" in str(e.value)


def test_sys_admin_alone_is_enough():
    bp.check_prerequisites("6.8.0", 1 << bp.CAP_SYS_ADMIN)


def test_kernel_version_parsing():
    assert bp.kernel_version("6.18.44-fc-v1147") == (6, 18)
    assert bp.kernel_version("5.8.0") == (5, 8)
    assert bp.kernel_version("garbage") == (0, 0)


def test_feature_probe_on_a_fake_tracefs(tmp_path):
    for d in ("sock/inet_sock_set_state", "syscalls/sys_enter_read", "tcp/tcp_retransmit_skb"):
        (tmp_path / "events" / d).mkdir(parents=True)
    f = bp.probe_features(str(tmp_path))
    assert f.tracepoints and f.syscall_tracepoints and f.retransmit_tracepoint
    assert not f.sock_length_tracepoints and not f.kprobes and not f.fentry
    degraded = " ".join(f.degraded())
    assert "no kprobes" in degraded and "at connection close only" in degraded


def test_source_printer_includes_every_program(capsys):
    assert bp.main(["--http"]) == 0
    out = capsys.readouterr().out
    assert "// cflags: " in out and "inet_sock_set_state" in out and "sys_enter_recvfrom" in out
