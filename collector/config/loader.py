"""Reads collector YAML: ${env:VAR} substitution, --set overrides, several files merged."""
from __future__ import annotations

import logging
import os
import re
from typing import Any, Mapping

import yaml

from .decode import ConfigError, ConfigErrors
from .types import Expanded

log = logging.getLogger("collector.config")

# "$$" is a literal "$" (anywhere, as in the collector); ${...} is a reference. The braces hold
# no "$" or "{": a nested `${env:${X}}` expands the inner one only.
_REF = re.compile(r"\$\$|\$\{([^${}]*)\}")
_ENV_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]+")  # confmap's scheme pattern
# ${NAME:-default} without `env:` is a shell habit the collector would reject; we read it as env.
_BARE_DEFAULT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*):-(.*)", re.S)


class GoYAMLLoader(yaml.SafeLoader):
    """Types plain scalars as the collector's YAML library (go-yaml v3) does, not as YAML 1.1:
    yes/no/on/off and dates stay strings, `1:30` is no number, `0o17`, `1e3` and `1_000` are."""


GoYAMLLoader.yaml_implicit_resolvers = {}
GoYAMLLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF"))
GoYAMLLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""])
GoYAMLLoader.add_implicit_resolver(  # before float: first match wins
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?(?:0b[01_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*)$"), list("-+0123456789"))
GoYAMLLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9][0-9_]*(?:\.[0-9_]*)?)(?:[eE][-+]?[0-9]+)?"
               r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"), list("-+0123456789."))
GoYAMLLoader.add_implicit_resolver("tag:yaml.org,2002:merge", re.compile(r"^(?:<<)$"), ["<"])


def _construct_int(loader, node):
    # strconv.ParseInt(s, 0, 64) as go-yaml uses it: a leading 0 is octal ("0123" is 83).
    text = loader.construct_scalar(node).replace("_", "")
    sign, digits = (-1, text[1:]) if text[:1] == "-" else (1, text.lstrip("+"))
    try:
        if len(digits) > 1 and digits[0] == "0" and digits[1].isdigit():
            return sign * int(digits, 8)
        return sign * int(digits, 0)
    except ValueError:  # "08": not octal; go-yaml falls back to a float
        return sign * float(digits)


GoYAMLLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


def yaml_load(text: str):
    return yaml.load(text, Loader=GoYAMLLoader)  # noqa: S506 - a SafeLoader subclass


def typed(text: str) -> Expanded:
    """The YAML type of a substituted text, keeping the text (confmap's NewRetrievedFromYAML)."""
    try:
        value = yaml_load(text)
    except yaml.YAMLError:
        value = text
    return Expanded(value, text)


def expand_env(value: Any, env: Mapping[str, str], path: str = "", errors: list | None = None) -> Any:
    """Substitute environment references in every string of a parsed YAML tree.

    A string that is exactly one reference becomes an Expanded: the YAML type of what it expands
    to (``port: ${env:PORT}`` gives an int) plus the text, as the collector's typed expansion.
    Problems (a config source other than env, a bad variable name) are appended to errors, or
    raised as ConfigErrors when no list is given.
    """
    own = errors is None
    errors = [] if own else errors
    out = _expand(value, env, path, errors)
    if own and errors:
        raise ConfigErrors(errors)
    return out


def _expand(value, env, path, errors):
    if isinstance(value, dict):
        return {k: _expand(v, env, f"{path}.{k}" if path else str(k), errors) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, env, f"{path}[{i}]", errors) for i, v in enumerate(value)]
    if not isinstance(value, str) or "$" not in value:
        return value

    def sub(m: re.Match) -> str:
        if m.group(0) == "$$":
            return "$"
        inner = m.group(1)
        bare = _BARE_DEFAULT.fullmatch(inner)
        if bare:
            name, default = bare.group(1), bare.group(2)
        elif ":" in inner:
            scheme, _, rest = inner.partition(":")
            if not _SCHEME.fullmatch(scheme):
                return m.group(0)
            if scheme != "env":
                errors.append(ConfigError(path, f"{m.group(0)}: config source {scheme!r} is not supported; "
                                                "only ${env:NAME} and ${env:NAME:-default} are"))
                return m.group(0)
            name, sep, default = rest.partition(":-")
            default = default if sep else None
            if not _ENV_NAME.fullmatch(name):
                errors.append(ConfigError(path, f"{m.group(0)}: environment variable {name!r} has an invalid name"))
                return m.group(0)
        else:
            if not _ENV_NAME.fullmatch(inner):
                return m.group(0)  # not a reference (`${1}` in a regex replacement, say)
            name, default = inner, None
        if name in env:
            if env[name] == "":
                log.info("Configuration references empty environment variable", extra={"variable": name, "key": path})
            return env[name]
        if default is None:
            log.warning("Configuration references unset environment variable", extra={"variable": name, "key": path})
            return ""
        return default

    whole = _REF.fullmatch(value)
    n_errors = len(errors)
    out = _REF.sub(sub, value)
    if whole and whole.group(0) != "$$" and out != value and len(errors) == n_errors:
        return typed(out)  # "" (unset) types as null: a typed field keeps its default
    return out


def split_set_key(key: str) -> list[str]:
    """`a.b.c` or the collector's `a::b::c` (needed when a key itself has dots)."""
    return key.split("::") if "::" in key else key.split(".")


def apply_set(tree: dict, assignment: str, env: Mapping[str, str] | None = None, errors: list | None = None) -> None:
    """One --set: the value is YAML and may hold ${env:...}, as the collector reads it (a yaml:
    source merged last); a mapping value is merged into the mapping it replaces."""
    if "=" not in assignment:
        raise ConfigError("--set", f"expected key=value, got {assignment!r}")
    key, _, raw = assignment.partition("=")
    parts = [p for p in split_set_key(key.strip())]
    if not parts or any(not p for p in parts):
        raise ConfigError("--set", f"invalid key {key!r}")
    raw = raw.strip()
    expanded = expand_env(raw, env or {}, "--set " + key.strip(), errors)
    value = expanded if isinstance(expanded, Expanded) else typed(expanded)
    node = tree
    for p in parts[:-1]:
        nxt = node.get(p)
        if isinstance(nxt, Expanded) and isinstance(nxt.value, dict):
            nxt = nxt.value
        if not isinstance(nxt, dict):
            nxt = {}
        node[p] = nxt
        node = nxt
    old = node.get(parts[-1])
    if isinstance(value.value, dict) and isinstance(old, dict):
        node[parts[-1]] = deep_merge(old, value.value)
    else:
        node[parts[-1]] = value


def deep_merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def unflatten(tree: Any) -> Any:
    """A key `a::b::c` is the path a.b.c, as confmap reads every key (so `yaml:a::b: 1` works)."""
    if isinstance(tree, list):
        return [unflatten(v) for v in tree]
    if not isinstance(tree, dict):
        return tree
    out: dict = {}
    for k, v in tree.items():
        v = unflatten(v)
        if isinstance(k, str) and "::" in k and all(k.split("::")):
            *head, last = k.split("::")
            for p in reversed(head + [last]):
                v = {p: v}
            out = deep_merge(out, v)
        elif isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def load_yaml_text(text: str, source: str) -> dict:
    try:
        data = yaml_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ConfigErrors([ConfigError("", f"{source}: invalid YAML{where}: {getattr(e, 'problem', e)}")])
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigErrors([ConfigError("", f"{source}: the top level must be a mapping")])
    return unflatten(data)


def read_source(uri: str, env: Mapping[str, str]) -> tuple[str, str]:
    """The text of one --config: a path, or the collector's `file:PATH`, `env:NAME`, `yaml:TEXT`."""
    if uri.startswith("yaml:"):
        return uri[5:], "inline yaml"
    if uri.startswith("env:"):
        name = uri[4:]
        if name not in env:
            raise ConfigErrors([ConfigError("", f"--config {uri}: environment variable {name} is not set")])
        return env[name], f"environment variable {name}"
    path = uri[5:] if uri.startswith("file:") else uri
    scheme = uri.partition(":")[0]
    if path is uri and ":" in uri and _SCHEME.fullmatch(scheme) and not os.path.exists(uri):
        raise ConfigErrors([ConfigError("", f"--config {uri}: config source {scheme!r} is not supported; "
                                            "use a file path, file:PATH, env:NAME or yaml:TEXT")])
    try:
        with open(path, encoding="utf-8") as f:
            return f.read(), path
    except OSError as e:
        raise ConfigErrors([ConfigError("", f"cannot read config file {path}: {e.strerror}")])


def load_raw(paths: list[str], sets: list[str] | None = None, env: Mapping[str, str] | None = None) -> dict:
    """Load, merge, expand and override: the raw tree the service config is decoded from."""
    env = os.environ if env is None else env
    tree: dict = {}
    for p in paths:
        text, source = read_source(p, env)
        tree = deep_merge(tree, load_yaml_text(text, source))
    errors: list[ConfigError] = []
    tree = expand_env(tree, env, "", errors)
    for s in sets or []:
        try:
            apply_set(tree, s, env, errors)
        except ConfigError as e:
            errors.append(e)
    if errors:
        raise ConfigErrors(errors)
    return tree
