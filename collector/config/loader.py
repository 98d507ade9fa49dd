"""Reads collector YAML: ${env:VAR} substitution, --set overrides, several files merged."""
from __future__ import annotations

import os
import re
from typing import Any, Mapping

import yaml

from .decode import ConfigError, ConfigErrors

# ${env:NAME}, ${env:NAME:-default}, ${NAME}; "$$" is a literal "$", as in the collector.
_REF = re.compile(r"\$\$|\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand_env(value: Any, env: Mapping[str, str], path: str = "") -> Any:
    """Substitute environment references in every string of a parsed YAML tree.

    A string that is exactly one reference takes the YAML type of what it expands to
    (``port: ${env:PORT}`` gives an int), as the collector's typed expansion does.
    """
    if isinstance(value, dict):
        return {k: expand_env(v, env, f"{path}.{k}" if path else str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, env, f"{path}[{i}]") for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        name, default = m.group(1), m.group(2)
        if name in env:
            return env[name]
        return default if default is not None else ""

    whole = _REF.fullmatch(value)
    out = _REF.sub(sub, value)
    if whole and whole.group(0) != "$$":
        try:
            typed = yaml.safe_load(out) if out != "" else None
        except yaml.YAMLError:
            return out
        # Only scalars take a type; an expansion never injects structure.
        if typed is None and out == "":
            return ""
        return typed if isinstance(typed, (str, int, float, bool)) else out
    return out


def split_set_key(key: str) -> list[str]:
    """`a.b.c` or the collector's `a::b::c` (needed when a key itself has dots)."""
    return key.split("::") if "::" in key else key.split(".")


def apply_set(tree: dict, assignment: str) -> None:
    if "=" not in assignment:
        raise ConfigError("--set", f"expected key=value, got {assignment!r}")
    key, _, raw = assignment.partition("=")
    parts = [p for p in split_set_key(key.strip())]
    if not parts or any(not p for p in parts):
        raise ConfigError("--set", f"invalid key {key!r}")
    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    node = tree
    for p in parts[:-1]:
        nxt = node.get(p)
        if not isinstance(nxt, dict):
            nxt = {}
            node[p] = nxt
        node = nxt
    node[parts[-1]] = value


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_yaml_text(text: str, source: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigErrors([ConfigError("", f"{source}: invalid YAML{where}: {getattr(e, 'problem', e)}")])
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigErrors([ConfigError("", f"{source}: the top level must be a mapping")])
    return data


def load_raw(paths: list[str], sets: list[str] | None = None, env: Mapping[str, str] | None = None) -> dict:
    """Load, merge, expand and override: the raw tree the service config is decoded from."""
    env = os.environ if env is None else env
    tree: dict = {}
    for p in paths:
        if p.startswith("yaml:"):
            text, source = p[5:], "inline yaml"
        else:
            try:
                with open(p, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise ConfigErrors([ConfigError("", f"cannot read config file {p}: {e.strerror}")])
            source = p
        tree = deep_merge(tree, load_yaml_text(text, source))
    tree = expand_env(tree, env)
    errors = []
    for s in sets or []:
        try:
            apply_set(tree, s)
        except ConfigError as e:
            errors.append(e)
    if errors:
        raise ConfigErrors(errors)
    return tree
