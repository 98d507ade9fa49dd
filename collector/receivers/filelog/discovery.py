"""Finding the files to read: include/exclude globs, plus rotated siblings of included files.

Rotated siblings (`0.log.20261203-101500`, `app.log.1`) are candidates only to finish files we
already know by fingerprint: the unread tail of a file rotated while the agent was down, or the
copy made by copytruncate. A sibling with an unknown fingerprint is never read from scratch.
Compressed files are ignored by name here and by magic bytes when fingerprinted.
"""
from __future__ import annotations

import glob
import os
import time
from dataclasses import dataclass

from .k8s_path import is_compressed_name


@dataclass(frozen=True)
class Candidate:
    path: str
    resolved: str
    sibling: bool  # a rotated name next to an included file: only read if already known


def _glob_all(patterns: list[str]) -> list[str]:
    out: list[str] = []
    for pattern in patterns:
        out.extend(glob.glob(pattern, recursive=True))
    return out


def find_candidates(include: list[str], exclude: list[str], exclude_older_than: float = 0.0,
                    now: float | None = None) -> list[Candidate]:
    excluded = set(_glob_all(exclude)) if exclude else set()
    now = time.time() if now is None else now
    seen_resolved: set[str] = set()
    out: list[Candidate] = []
    included = sorted(set(_glob_all(include)))
    included_set = set(included)
    dirs: dict[str, set[str]] = {}

    def add(path: str, sibling: bool) -> None:
        if path in excluded or is_compressed_name(path):
            return
        try:
            resolved = os.path.realpath(path)
            st = os.stat(resolved)
        except OSError:
            return
        if not os.path.isfile(resolved) or resolved in seen_resolved:
            return
        if exclude_older_than > 0 and now - st.st_mtime > exclude_older_than:
            return
        seen_resolved.add(resolved)
        out.append(Candidate(path, resolved, sibling))

    for path in included:
        if path in excluded:
            continue  # nor its rotated siblings: excluding the agent's own logs must hold
        add(path, False)
        dirs.setdefault(os.path.dirname(path), set()).add(os.path.basename(path))
    for d, names in dirs.items():
        try:
            entries = os.listdir(d or ".")
        except OSError:
            continue
        prefixes = tuple(n + "." for n in names)
        for entry in entries:
            # `<name>.<suffix>`, possibly with dots in the suffix: any included name it extends.
            if entry.startswith(prefixes):
                path = os.path.join(d, entry)
                if path not in included_set:
                    add(path, True)
    return out
