"""Kernel header resolution against fixture trees (tests/fixtures/ebpf/...)."""
from __future__ import annotations

import io
import os
import shutil
import tarfile

import pytest

from ebpf import headers

FIX = os.path.join(os.path.dirname(__file__), "..", "fixtures", "ebpf")


@pytest.fixture
def cache(tmp_path):
    return str(tmp_path / "cache")


def test_host_build_dir_is_used_directly(cache):
    root = os.path.join(FIX, "host_build")
    trees = headers.candidate_trees("6.9.0-test", root=root, cache_dir=cache, generic_search=[])
    assert [t.origin for t in trees] == ["host"]
    assert trees[0].path == os.path.join(root, "lib/modules/6.9.0-test/build")


def test_debian_split_host_dirs_become_one_merged_tree_of_links(cache):
    root = os.path.join(FIX, "debian_split")
    trees = headers.candidate_trees("6.1.0-9-amd64", root=root, cache_dir=cache, generic_search=[])
    assert trees[0].origin == "host"
    merged = trees[0].path
    assert merged.startswith(cache)  # never written into the system paths
    # files of both halves are visible; the arch-specific half wins for files in both
    assert open(os.path.join(merged, "include/linux/kconfig.h")).read().strip() == "/* common */"
    assert open(os.path.join(merged, "include/generated/autoconf.h")).read().strip() == "/* generated */"
    assert os.path.exists(os.path.join(merged, "arch/x86/include/asm/ptrace.h"))
    assert os.path.exists(os.path.join(merged, "arch/x86/include/generated/asm/cpufeatures.h"))
    assert open(os.path.join(merged, "Makefile")).read().strip() == "include amd64"
    # a directory of links, not copies
    assert os.path.islink(os.path.join(merged, "include/linux"))
    assert os.path.islink(os.path.join(merged, "Makefile"))


def test_merged_tree_is_built_once_and_reused(cache):
    root = os.path.join(FIX, "debian_split")
    a = headers.candidate_trees("6.1.0-9-amd64", root=root, cache_dir=cache, generic_search=[])[0]
    b = headers.candidate_trees("6.1.0-9-amd64", root=root, cache_dir=cache, generic_search=[])[0]
    assert a.path == b.path
    assert [n for n in os.listdir(cache) if n.startswith(".")] == []  # no half-built leftovers


def test_generic_tree_pairs_common_and_arch_dirs_as_fallback(cache):
    root = os.path.join(FIX, "debian_split")
    trees = headers.candidate_trees("5.99.0-other", root=root, cache_dir=cache,
                                    generic_search=["/usr/src/linux-headers-*"])
    assert [t.origin for t in trees] == ["generic"]
    assert "linux-headers-6.1.0-9-common" in trees[0].detail
    assert os.path.exists(os.path.join(trees[0].path, "include/generated/autoconf.h"))


def test_host_tree_comes_before_the_generic_one(cache):
    root = os.path.join(FIX, "debian_split")
    trees = headers.candidate_trees("6.1.0-9-amd64", root=root, cache_dir=cache,
                                    generic_search=["/usr/src/linux-headers-*"])
    assert [t.origin for t in trees] == ["host", "generic"] or [t.origin for t in trees] == ["host"]
    assert trees[0].origin == "host"


def test_no_headers_anywhere_gives_no_candidates(cache):
    root = os.path.join(FIX, "none")
    assert headers.candidate_trees("6.1.0-9-amd64", root=root, cache_dir=cache,
                                   generic_search=["/usr/src/linux-headers-*"]) == []


def test_kheaders_archive_is_extracted_into_the_cache(tmp_path, cache):
    root = tmp_path / "root"
    (root / "sys/kernel").mkdir(parents=True)
    with tarfile.open(root / "sys/kernel/kheaders.tar.xz", "w:xz") as tar:
        data = b"/* from kheaders */\n"
        info = tarfile.TarInfo("include/linux/kconfig.h")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    trees = headers.candidate_trees("6.5.0-k", root=str(root), cache_dir=cache, generic_search=[])
    assert [t.origin for t in trees] == ["kheaders"]
    assert open(os.path.join(trees[0].path, "include/linux/kconfig.h")).read() == "/* from kheaders */\n"


def test_broken_host_link_falls_through_to_other_sources(tmp_path, cache):
    root = tmp_path / "root"
    shutil.copytree(os.path.join(FIX, "debian_split"), root, symlinks=True)
    os.unlink(root / "lib/modules/6.1.0-9-amd64/build")
    os.symlink("/nonexistent/dir", root / "lib/modules/6.1.0-9-amd64/build")
    trees = headers.candidate_trees("6.1.0-9-amd64", root=str(root), cache_dir=cache,
                                    generic_search=["/usr/src/linux-headers-*"])
    assert [t.origin for t in trees] == ["generic"]
