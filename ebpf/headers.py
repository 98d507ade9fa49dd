"""Finds kernel headers BCC can compile against, without writing into system paths.

Order (issue 7):
1. the host's `/lib/modules/$(uname -r)/build` (+ `source`), mounted into the pod;
2. `/sys/kernel/kheaders.tar.xz` (CONFIG_IKHEADERS), extracted into our cache directory;
3. a generic headers tree shipped in the image (`/usr/src/linux-headers-*`).

Debian splits one kernel's headers into `linux-headers-<ver>-<arch>` (generated files, config)
and `linux-headers-<ver>-common` (the sources); its `build` link points at the first and
`source` at the second. BCC wants one tree, so we build a merged tree: a directory of symlinks
in a cache directory (never in /lib/modules or /usr/src). BCC is pointed at it through its
BCC_KERNEL_SOURCE environment variable.

Every function takes `root` so tests run against fixture trees (tests/fixtures/ebpf/...).
"""
from __future__ import annotations

import dataclasses
import glob
import hashlib
import logging
import os
import shutil
import tarfile
import tempfile

log = logging.getLogger(__name__)

DEFAULT_CACHE_DIR = "/tmp/skuber-apm/headers"


@dataclasses.dataclass(frozen=True)
class HeaderTree:
    path: str     # what BCC_KERNEL_SOURCE is set to
    origin: str   # "host" | "kheaders" | "generic"
    detail: str   # human-readable: where it came from

    def describe(self) -> str:
        return f"{self.origin} headers at {self.path} ({self.detail})"


def _join(root: str, path: str) -> str:
    return os.path.join(root, path.lstrip("/")) if root not in ("", "/") else path


def _resolve_link(root: str, path: str) -> str | None:
    """Resolves a symlink inside a fixture root: absolute link targets are taken relative to
    root (a host tree mounted at /hostfs has links pointing at the host's /usr/src)."""
    full = _join(root, path)
    if not os.path.lexists(full):
        return None
    if os.path.islink(full):
        target = os.readlink(full)
        if os.path.isabs(target):
            resolved = _join(root, target)
        else:
            resolved = os.path.normpath(os.path.join(os.path.dirname(full), target))
        return resolved if os.path.isdir(resolved) else None
    return full if os.path.isdir(full) else None


def _looks_like_headers(path: str) -> bool:
    return os.path.isdir(os.path.join(path, "include"))


def merge_trees(dst: str, sources: list[str]) -> None:
    """Builds dst as a tree of symlinks merging sources; for a file present in several sources
    the last one wins (Debian: the arch-specific dir overrides the common one). Directories
    present in only one source are linked whole, so the tree stays a few hundred links."""
    os.makedirs(dst, exist_ok=True)
    names: dict[str, list[str]] = {}
    for src in sources:
        try:
            entries = sorted(os.listdir(src))
        except OSError:
            continue
        for name in entries:
            names.setdefault(name, []).append(os.path.join(src, name))
    for name, paths in names.items():
        dirs = [p for p in paths if os.path.isdir(p)]
        target = os.path.join(dst, name)
        if len(dirs) > 1:
            merge_trees(target, dirs)
        else:
            os.symlink(os.path.realpath(dirs[0] if dirs else paths[-1]), target)


def merged_tree(sources: list[str], cache_dir: str) -> str:
    """A merged tree for sources under cache_dir, built once (named by a hash of the sources)
    and renamed into place so that a crash mid-build never leaves a half tree behind."""
    key = hashlib.sha256("\0".join(os.path.realpath(s) for s in sources).encode()).hexdigest()[:16]
    final = os.path.join(cache_dir, f"merged-{key}")
    if os.path.isdir(final):
        return final
    os.makedirs(cache_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".merge-", dir=cache_dir)
    try:
        merge_trees(tmp, sources)
        os.rename(tmp, final)
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        if not os.path.isdir(final):  # lost a race with another builder: theirs is fine
            raise
    return final


def host_tree(release: str, root: str, cache_dir: str) -> HeaderTree | None:
    base = f"/lib/modules/{release}"
    build = _resolve_link(root, f"{base}/build")
    source = _resolve_link(root, f"{base}/source")
    if build is None:
        return None
    if source and os.path.realpath(source) != os.path.realpath(build):
        if not (_looks_like_headers(build) or _looks_like_headers(source)):
            return None
        path = merged_tree([source, build], cache_dir)
        return HeaderTree(path, "host", f"merged {base}/source and {base}/build")
    if not _looks_like_headers(build):
        return None
    return HeaderTree(build, "host", f"{base}/build")


def kheaders_tree(release: str, root: str, cache_dir: str) -> HeaderTree | None:
    archive = _join(root, "/sys/kernel/kheaders.tar.xz")
    if not os.path.isfile(archive):
        return None
    final = os.path.join(cache_dir, f"kheaders-{release}")
    if not os.path.isdir(final):
        os.makedirs(cache_dir, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=".kheaders-", dir=cache_dir)
        try:
            with tarfile.open(archive, "r:xz") as tar:
                tar.extractall(tmp, filter="data")
            os.rename(tmp, final)
        except (OSError, tarfile.TarError) as e:
            shutil.rmtree(tmp, ignore_errors=True)
            log.warning("cannot extract %s: %s", archive, e)
            return None
    return HeaderTree(final, "kheaders", "/sys/kernel/kheaders.tar.xz")


def generic_trees(root: str, cache_dir: str, search: list[str]) -> list[HeaderTree]:
    """Header trees shipped in the image. A Debian `-common` dir is paired with its `-<arch>`
    sibling; the newest version comes first."""
    out: list[HeaderTree] = []
    for pattern in search:
        dirs = sorted(glob.glob(_join(root, pattern)), reverse=True)
        commons = {d[: -len("-common")]: d for d in dirs if d.endswith("-common")}
        for d in dirs:
            if d.endswith("-common") or not os.path.isdir(d):
                continue
            common = next((c for prefix, c in commons.items() if d.startswith(prefix + "-")), None)
            if common:
                path = merged_tree([common, d], cache_dir)
                out.append(HeaderTree(path, "generic", f"merged {common} and {d}"))
            elif _looks_like_headers(d) and os.path.isdir(os.path.join(d, "arch")):
                out.append(HeaderTree(d, "generic", d))
    return out


DEFAULT_GENERIC_SEARCH = ["/usr/src/linux-headers-*"]


def candidate_trees(release: str | None = None, root: str = "/",
                    cache_dir: str = DEFAULT_CACHE_DIR,
                    generic_search: list[str] | None = None) -> list[HeaderTree]:
    """Every usable tree, best first. The loader compiles against the first and retries with
    the next ones when compiling fails (BCC 0.26 breaks on some >= 6.10 kernel headers)."""
    release = release or os.uname().release
    out: list[HeaderTree] = []
    for finder in (host_tree, kheaders_tree):
        try:
            tree = finder(release, root, cache_dir)
        except OSError as e:
            log.warning("kernel headers: %s lookup failed: %s", finder.__name__, e)
            tree = None
        if tree:
            out.append(tree)
    try:
        out.extend(generic_trees(root, cache_dir,
                                 DEFAULT_GENERIC_SEARCH if generic_search is None else generic_search))
    except OSError as e:
        log.warning("kernel headers: generic tree lookup failed: %s", e)
    seen: set[str] = set()
    return [t for t in out if not (t.path in seen or seen.add(t.path))]
