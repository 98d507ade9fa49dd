"""Struct member offsets from the running kernel's BTF (/sys/kernel/btf/vmlinux).

Why: the kernel headers we can find (host build dir, a generic tree in the image) often belong to
another kernel version, so `offsetof(struct tcp_sock, bytes_acked)` compiled against them can be
wrong. BCC 0.26 has no CO-RE relocations for Python programs, so we do the relocation ourselves:
read the offsets from BTF at load time and pass them to the BPF program as -D macros. Tracepoint
arguments need no such care: BCC generates their structs from tracefs formats of this kernel.

Format: Documentation/bpf/btf.rst (header, type section, string section).
"""
from __future__ import annotations

import struct

BTF_MAGIC = 0xEB9F

KIND_INT, KIND_PTR, KIND_ARRAY, KIND_STRUCT, KIND_UNION, KIND_ENUM = 1, 2, 3, 4, 5, 6
KIND_FWD, KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT = 7, 8, 9, 10, 11
KIND_FUNC, KIND_FUNC_PROTO, KIND_VAR, KIND_DATASEC, KIND_FLOAT = 12, 13, 14, 15, 16
KIND_DECL_TAG, KIND_TYPE_TAG, KIND_ENUM64 = 17, 18, 19

# Bytes that follow the 12-byte common header, per kind: (fixed, per vlen item).
_TRAILER = {
    KIND_INT: (4, 0), KIND_PTR: (0, 0), KIND_ARRAY: (12, 0), KIND_STRUCT: (0, 12),
    KIND_UNION: (0, 12), KIND_ENUM: (0, 8), KIND_FWD: (0, 0), KIND_TYPEDEF: (0, 0),
    KIND_VOLATILE: (0, 0), KIND_CONST: (0, 0), KIND_RESTRICT: (0, 0), KIND_FUNC: (0, 0),
    KIND_FUNC_PROTO: (0, 8), KIND_VAR: (4, 0), KIND_DATASEC: (0, 12), KIND_FLOAT: (0, 0),
    KIND_DECL_TAG: (4, 0), KIND_TYPE_TAG: (0, 0), KIND_ENUM64: (0, 12),
}


class BTFError(Exception):
    pass


def _cstr(strings: bytes, off: int) -> str:
    end = strings.find(b"\0", off)
    return strings[off:end if end >= 0 else len(strings)].decode("ascii", "replace")


def struct_offsets(data: bytes, struct_name: str, members: list[str]) -> dict[str, int]:
    """Byte offsets of the named direct members of `struct struct_name` (anonymous unions and
    structs nested in it are searched too, as C lets you name their members directly).

    Members that are absent (renamed in this kernel) are missing from the result; raises BTFError
    when the blob is not BTF or the struct does not exist.
    """
    if len(data) < 24:
        raise BTFError("BTF blob too short")
    magic, _version, _flags, hdr_len = struct.unpack_from("<HBBI", data, 0)
    if magic != BTF_MAGIC:
        raise BTFError(f"bad BTF magic {magic:#x} (big-endian BTF is not supported)")
    type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", data, 8)
    types = data[hdr_len + type_off: hdr_len + type_off + type_len]
    strings = data[hdr_len + str_off: hdr_len + str_off + str_len]

    # Type ids start at 1; we keep (kind, vlen, kflag, pos of trailer, name_off) per id so that
    # anonymous members can be followed to their definitions.
    index: list[tuple[int, int, int, int, int]] = [(0, 0, 0, 0, 0)]
    target = struct_name.encode()
    target_id = None
    pos = 0
    n = len(types)
    while pos + 12 <= n:
        name_off, info, _size = struct.unpack_from("<III", types, pos)
        kind = (info >> 24) & 0x1F
        vlen = info & 0xFFFF
        kflag = info >> 31
        if kind not in _TRAILER:
            raise BTFError(f"unknown BTF kind {kind} at type {len(index)}")
        index.append((kind, vlen, kflag, pos + 12, name_off))
        if (target_id is None and kind == KIND_STRUCT and
                strings.startswith(target + b"\0", name_off)):
            target_id = len(index) - 1
        fixed, per = _TRAILER[kind]
        pos += 12 + fixed + per * vlen
    if target_id is None:
        raise BTFError(f"struct {struct_name} not found in BTF")

    wanted = set(members)
    found: dict[str, int] = {}

    def walk(type_id: int, base_bits: int, depth: int) -> None:
        kind, vlen, kflag, tpos, _ = index[type_id]
        for i in range(vlen):
            m_name, m_type, m_off = struct.unpack_from("<III", types, tpos + 12 * i)
            bits = (m_off & 0xFFFFFF) if kflag else m_off
            name = _cstr(strings, m_name) if m_name else ""
            if name in wanted and name not in found:
                found[name] = (base_bits + bits) // 8
            elif not name and depth < 4:
                inner = _resolve(m_type)
                if inner and index[inner][0] in (KIND_STRUCT, KIND_UNION):
                    walk(inner, base_bits + bits, depth + 1)

    def _resolve(type_id: int) -> int:
        for _ in range(16):  # typedef/const chains are short; bound the walk anyway
            if type_id <= 0 or type_id >= len(index):
                return 0
            kind = index[type_id][0]
            if kind in (KIND_TYPEDEF, KIND_VOLATILE, KIND_CONST, KIND_RESTRICT, KIND_TYPE_TAG):
                type_id = struct.unpack_from("<I", types, index[type_id][3] - 4)[0]
                continue
            return type_id
        return 0

    walk(target_id, 0, 0)
    return found


def kernel_struct_offsets(struct_name: str, members: list[str],
                          path: str = "/sys/kernel/btf/vmlinux") -> dict[str, int]:
    with open(path, "rb") as f:
        return struct_offsets(f.read(), struct_name, members)
