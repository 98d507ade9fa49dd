"""BTF member offsets: a hand-built blob (exact layout) and the running kernel's vmlinux."""
from __future__ import annotations

import os
import struct

import pytest

from ebpf import btf


def _blob() -> bytes:
    strings = b"\0int\0demo\0a\0b\0inner\0c\0"
    off = {s: strings.index(s.encode() + b"\0") for s in ("int", "demo", "a", "b", "inner", "c")}
    types = b""
    # 1: int (4 bytes)
    types += struct.pack("<III", off["int"], btf.KIND_INT << 24, 4) + struct.pack("<I", 32)
    # 2: union { int c; } (anonymous) at member offset
    types += struct.pack("<III", 0, (btf.KIND_UNION << 24) | 1, 4) + struct.pack("<III", off["c"], 1, 0)
    # 3: struct demo { int a; <anon union 2>; int b; } with kflag bitfield offsets
    info = (1 << 31) | (btf.KIND_STRUCT << 24) | 3
    types += struct.pack("<III", off["demo"], info, 12)
    types += struct.pack("<III", off["a"], 1, 0)
    types += struct.pack("<III", 0, 2, 32)
    types += struct.pack("<III", off["b"], 1, 64)
    hdr = struct.pack("<HBBIIIII", btf.BTF_MAGIC, 1, 0, 24, 0, len(types), len(types), len(strings))
    return hdr + types + strings


def test_offsets_of_direct_and_anonymous_union_members():
    assert btf.struct_offsets(_blob(), "demo", ["a", "b", "c"]) == {"a": 0, "c": 4, "b": 8}


def test_missing_member_is_left_out_and_missing_struct_raises():
    assert btf.struct_offsets(_blob(), "demo", ["zz"]) == {}
    with pytest.raises(btf.BTFError):
        btf.struct_offsets(_blob(), "nope", ["a"])


def test_garbage_is_an_error_not_a_crash():
    with pytest.raises(btf.BTFError):
        btf.struct_offsets(b"\x00" * 64, "demo", ["a"])
    with pytest.raises(btf.BTFError):
        btf.struct_offsets(b"", "demo", ["a"])


@pytest.mark.skipif(not os.path.exists("/sys/kernel/btf/vmlinux"), reason="kernel without BTF")
def test_running_kernel_tcp_sock_members_are_found():
    got = btf.kernel_struct_offsets("tcp_sock", ["srtt_us", "bytes_acked", "bytes_received"])
    assert set(got) == {"srtt_us", "bytes_acked", "bytes_received"}
    assert all(v > 0 for v in got.values())
