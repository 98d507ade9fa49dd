"""The Dockerfile builds the one image the chart runs: parsed, not built (building needs podman
and a Debian base image; see DESIGN.md)."""

from __future__ import annotations

import fnmatch
import os
import re
import tomllib

import pytest

from tests.deploy.chart_render import ROOT

DOCKERFILE = os.path.join(ROOT, "Dockerfile")


def instructions() -> list[tuple[str, str]]:
    text = open(DOCKERFILE, encoding="utf-8").read()
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            op, _, rest = line.partition(" ")
            out.append((op.upper(), rest.strip()))
    return out


def stages() -> list[list[tuple[str, str]]]:
    result: list[list[tuple[str, str]]] = []
    for op, rest in instructions():
        if op == "FROM":
            result.append([])
        if result:
            result[-1].append((op, rest))
    return result


def apt_packages(stage) -> set[str]:
    pkgs = set()
    for op, rest in stage:
        if op == "RUN" and "apt-get install" in rest:
            for cmd in rest.split("&&"):
                if "apt-get install" in cmd:
                    pkgs |= {w for w in cmd.split("install", 1)[1].split() if not w.startswith("-")}
    return pkgs


def test_final_stage_is_debian_bookworm_python_with_bcc_and_no_compiler():
    args = dict(rest.split("=", 1) for op, rest in instructions() if op == "ARG" and "=" in rest)
    final = stages()[-1]
    base = final[0][1]
    assert base == "${DEBIAN_IMAGE}" and "bookworm" in args["DEBIAN_IMAGE"]
    pkgs = apt_packages(final)
    assert {"python3", "python3-bpfcc"} <= pkgs
    compilers = {"gcc", "g++", "clang", "build-essential", "make", "linux-headers-amd64", "cpp"}
    assert not pkgs & compilers, pkgs & compilers


def test_generic_kernel_headers_come_from_a_separate_stage():
    headers_stage = next(s for s in stages() if "AS headers" in s[0][1])
    assert "linux-headers-amd64" in apt_packages(headers_stage)
    copies = [rest for op, rest in stages()[-1] if op == "COPY" and "--from=headers" in rest]
    assert copies and copies[0].split()[-1] == "/opt/skuber/kernel-headers"


def test_runs_as_non_root_with_collector_entrypoint():
    final = stages()[-1]
    user = [rest for op, rest in final if op == "USER"][-1]
    assert not user.startswith(("0", "root"))
    entry = [rest for op, rest in final if op == "ENTRYPOINT"][-1]
    assert entry == '["python", "-m", "collector"]'


def test_dependencies_are_installed_pinned_from_the_lock():
    venv = next(s for s in stages() if "AS venv" in s[0][1])
    runs = " ".join(rest for op, rest in venv if op == "RUN")
    assert "-r /tmp/requirements.lock" in runs and "--no-deps /src" in runs
    lock = {}
    for line in open(os.path.join(ROOT, "deploy", "requirements.lock"), encoding="utf-8"):
        if line.strip() and not line.startswith("#"):
            name, version = line.strip().split("==")
            lock[name] = version
    deps = tomllib.load(open(os.path.join(ROOT, "pyproject.toml"), "rb"))["project"]["dependencies"]
    for dep in deps:
        name = re.split(r"[<>=!~;\[ ]", dep, 1)[0].lower().replace("_", "-")
        assert name in lock, f"{name} is a dependency of pyproject.toml but not in requirements.lock"


def test_build_context_keeps_what_the_dockerfile_copies():
    rules = [l.strip() for l in open(os.path.join(ROOT, ".dockerignore")) if l.strip() and not l.startswith("#")]

    def included(path: str) -> bool:
        keep = True
        for rule in rules:
            negate = rule.startswith("!")
            pattern = rule[1:].rstrip("/") if negate else rule.rstrip("/")
            if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
                keep = negate
        return keep
    sources = []
    for op, rest in instructions():
        if op == "COPY" and "--from" not in rest:
            sources += rest.split()[:-1]
    assert sources
    for src in sources:
        assert included(src), f"{src} is excluded by .dockerignore"
        assert os.path.exists(os.path.join(ROOT, src)), src
    assert not included("tests/operator/test_operator_process.py")
    assert not included(".venv/bin/python")
