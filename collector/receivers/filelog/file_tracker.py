"""Which open reader is which file, poll after poll: identity by fingerprint, not by name.

One poll matches every candidate path against the tracked readers:
1. same fingerprint prefix and same inode: the same file, maybe renamed (path updated);
2. same fingerprint on another inode: the content moved (copytruncate's copy): the reader
   continues from its offset on the new handle;
3. a prefix of an already matched reader's fingerprint, or the reverse: a copy in progress or a
   duplicate path: skipped this poll, never read twice;
4. otherwise a new file: resumed from its checkpoint, else read from the start (or from the
   end on the first poll with start_at: end). Rotated siblings only resume known files, or
   files written since the previous run stopped (rotated while the agent was down).
Readers matched by no path are "lost" (renamed away or deleted): read to EOF through the
handle, then closed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from .checkpoints import ALIVE_EVERY, CheckpointStore
from .discovery import Candidate
from .file_reader import FileReader
from .fingerprint import is_compressed, may_be_copy_of, read_fingerprint, same_file


# A file written within this long before the previous run's last checkpoint transaction may
# not have been registered yet: read it (duplicates are allowed, loss is not).
ALIVE_SLACK = 2 * ALIVE_EVERY


@dataclass
class PollResult:
    new: list[FileReader] = field(default_factory=list)
    lost: list[FileReader] = field(default_factory=list)
    seen_keys: set[str] = field(default_factory=set)
    skipped_limit: int = 0


def _open(path: str):
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
    except OSError:
        os.close(fd)
        return None
    return fd, st


def match_poll(readers: list[FileReader], candidates: list[Candidate], store: CheckpointStore, *,
               fingerprint_size: int, first_poll: bool, start_at_end: bool, max_files: int,
               make_reader) -> PollResult:
    """Match candidates to readers (see module docstring). make_reader(cand, fd, fp, offset, checkpoint_key)
    builds a FileReader; the caller adds result.new to its list and handles result.lost."""
    res = PollResult()
    opened = []
    for cand in candidates:
        o = _open(cand.path)
        if o is None:
            continue
        fd, st = o
        try:
            fp = read_fingerprint(fd, fingerprint_size)
        except OSError:
            fp = b""
        if not fp or is_compressed(fp):
            os.close(fd)
            continue
        opened.append((cand, fd, st, fp))

    matched: set[int] = set()
    index = _FingerprintIndex(readers)
    by_ino: dict[int, list[FileReader]] = {}
    for r in readers:
        if not r.detached:
            by_ino.setdefault(r.ino, []).append(r)
    rest = []
    # Pass 1: same inode and fingerprint: the same file, possibly renamed.
    for item in opened:
        cand, fd, st, fp = item
        r = next((r for r in by_ino.get(st.st_ino, ()) if id(r) not in matched and same_file(r.fp, fp)), None)
        if r is None:
            rest.append(item)
            continue
        matched.add(id(r))
        os.close(fd)
        r.path, r.lost = cand.path, False
        if r.stored_key:
            res.seen_keys.add(r.stored_key)
    # Pass 2: the content is now on another inode (the copy of copytruncate).
    rest2 = []
    for item in rest:
        cand, fd, st, fp = item
        r = next((r for r in index.related(fp) if id(r) not in matched and same_file(r.fp, fp)), None)
        if r is None:
            rest2.append(item)
            continue
        matched.add(id(r))
        r.close()
        r.fd, r.ino, r.path, r.lost, r.detached = fd, st.st_ino, cand.path, False, False
        if r.stored_key:
            res.seen_keys.add(r.stored_key)
    # Pass 3: new files, unless they look like a file we already read under another name.
    total = len(readers)
    for cand, fd, st, fp in rest2:
        if any(same_file(r.fp, fp) or may_be_copy_of(r.fp, fp) for r in index.related(fp)):
            os.close(fd)
            continue
        cp = store.find(fp)
        if cp is not None:
            res.seen_keys.add(cp.key)
            offset = cp.offset if cp.offset <= st.st_size else 0
        elif cand.sibling and not (store.last_alive is not None
                                   and st.st_mtime >= store.last_alive - ALIVE_SLACK):
            os.close(fd)  # an old rotated file we never knew: not ours to read from scratch
            continue
        elif cand.sibling:
            offset = 0  # created and rotated away while the agent was down: all of it is new
        else:
            offset = st.st_size if (first_poll and start_at_end) else 0
        if total >= max_files:
            os.close(fd)
            res.skipped_limit += 1
            continue
        r = make_reader(cand, fd, fp, offset, cp.key if cp is not None else None)
        res.new.append(r)
        index.add(r)
        total += 1
    for r in readers:
        if r.detached:
            r.detached_polls += 1
            if r.stored_key:
                res.seen_keys.add(r.stored_key)
            continue
        if id(r) not in matched and not r.lost:
            r.lost = True
            res.lost.append(r)
        if r.stored_key and r.lost:
            res.seen_keys.add(r.stored_key)
    return res


_KEY = 16  # fingerprints related by prefix share their first min(len) bytes


class _FingerprintIndex:
    """Readers by the first bytes of their fingerprint, so a poll is not quadratic in files."""

    def __init__(self, readers) -> None:
        self.buckets: dict[bytes, list[FileReader]] = {}
        self.short: list[FileReader] = []
        self.all: list[FileReader] = []
        for r in readers:
            self.add(r)

    def add(self, r: FileReader) -> None:
        self.all.append(r)
        if len(r.fp) >= _KEY:
            self.buckets.setdefault(r.fp[:_KEY], []).append(r)
        else:
            self.short.append(r)

    def related(self, fp: bytes):
        """Readers whose fingerprint may be a prefix of fp or have fp as a prefix."""
        if len(fp) < _KEY:
            return self.all
        return [*self.buckets.get(fp[:_KEY], ()), *self.short]
