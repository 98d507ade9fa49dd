"""/proc readers against tests/fixtures/ebpf/proc and cgroup lines of every runtime."""
from __future__ import annotations

import os

import pytest

from ebpf import procfs

PROC = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ebpf", "proc")
CID = "ab" * 32


def test_net_tcp_parses_v4_and_v6_and_skips_garbage():
    socks = procfs.net_tcp(PROC, 4242)
    assert [(s.inode, s.local_addr, s.local_port, s.state) for s in socks] == [
        (1001, "127.0.0.1", 8080, procfs.TCP_LISTEN), (1002, "127.0.0.1", 8080, procfs.TCP_ESTABLISHED),
        (1003, "127.0.0.1", 40960, procfs.TCP_ESTABLISHED), (1004, "::", 8081, procfs.TCP_LISTEN)]
    assert socks[1].remote_port == 40960


def test_socket_inodes_maps_inode_to_fd_and_ignores_other_fds():
    assert procfs.socket_inodes(PROC, 4242) == {1001: 3, 1002: 4, 1004: 5}
    assert procfs.socket_inodes(PROC, 4243) == {1003: 7}
    assert procfs.socket_inodes(PROC, 999999) == {}


def test_environ_exe_and_vanished_process():
    assert procfs.environ_value(PROC, 4242, "OTEL_SERVICE_NAME") == "checkout"
    assert procfs.environ_value(PROC, 4243, "OTEL_SERVICE_NAME") is None
    assert procfs.exe_path(PROC, 4243) == "/usr/bin/curl"
    assert procfs.exe_path(PROC, 999999) == ""


@pytest.mark.parametrize("text", [
    # cgroup v2, systemd driver, containerd
    f"0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1d2c_3b4a.slice/cri-containerd-{CID}.scope",
    # CRI-O
    f"0::/kubepods.slice/kubepods-pod1d2c.slice/crio-{CID}.scope",
    # docker with the systemd driver
    f"0::/system.slice/docker-{CID}.scope",
    # cgroup v1, cgroupfs driver, several hierarchies
    f"12:memory:/kubepods/burstable/pod1d2c3b4a-0000-1111-2222-333344445555/{CID}\n11:cpu,cpuacct:/kubepods/burstable/pod1d2c3b4a-0000-1111-2222-333344445555/{CID}",
    # docker cgroupfs v1
    f"4:pids:/docker/{CID}",
])
def test_container_id_for_every_runtime_and_cgroup_driver(text):
    assert procfs.container_id_from_cgroup(text) == CID


@pytest.mark.parametrize("text", ["0::/user.slice/user-0.slice/session-1.scope", "0::/", "", "garbage"])
def test_no_container_id_outside_containers(text):
    assert procfs.container_id_from_cgroup(text) is None


def test_pod_uid_from_systemd_slice_name():
    text = "0::/kubepods.slice/kubepods-burstable-pod1d2c3b4a_0000_1111_2222_333344445555.slice/x"
    assert procfs.pod_uid_from_cgroup(text) == "1d2c3b4a-0000-1111-2222-333344445555"
