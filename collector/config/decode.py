"""Builds typed config dataclasses from YAML values, naming the key path of every problem."""
from __future__ import annotations

import dataclasses
import enum
import types
import typing
from typing import Any, Literal, Union

from .types import ByteSize, Duration, Expanded, parse_bytesize, parse_duration, plain


class ConfigError(Exception):
    """One problem in a config, tied to the key path it concerns."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


class ConfigErrors(Exception):
    """Every problem found, one per line."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(str(e) for e in errors))


def join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def yaml_key(f: dataclasses.Field) -> str:
    return f.metadata.get("key", f.name)


def _type_name(tp) -> str:
    if tp is Duration:
        return "a duration (e.g. 5s)"
    if tp is ByteSize:
        return "a size (e.g. 1MiB)"
    if dataclasses.is_dataclass(tp):
        return "a mapping"
    origin = typing.get_origin(tp)
    if origin in (list, tuple):
        return "a list"
    if origin is dict:
        return "a mapping"
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}.get(tp, str(tp))


def _describe(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, (dict, list)):
        return type(value).__name__
    return f"{type(value).__name__} {value!r}"


def decode_value(tp, value, path: str, errors: list[ConfigError]):
    """Decode value as type tp; append problems to errors and return a best-effort value."""
    origin = typing.get_origin(tp)
    if isinstance(value, Expanded) and origin not in (Union, types.UnionType):
        if tp is str:
            return value.original  # an env value `0123` or `1.10` stays as written
        value = value.value
    if tp is Any or tp is typing.Any:
        return plain(value)
    if tp is Duration:
        try:
            return parse_duration(value)
        except ValueError as e:
            errors.append(ConfigError(path, str(e)))
            return None
    if tp is ByteSize:
        try:
            return parse_bytesize(value)
        except ValueError as e:
            errors.append(ConfigError(path, str(e)))
            return None
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        # An unset ${env:X} leaves an optional field unset (confmap: a nil pointer), even a string
        # one; a variable set to the text "null" is still that text for a string field.
        if value is None or (isinstance(value, Expanded) and value.value is None
                             and (str not in args or value.original == "")):
            return None
        if len(args) == 1:
            return decode_value(args[0], value, path, errors)
        for a in args:  # first variant that decodes cleanly wins
            trial: list[ConfigError] = []
            out = decode_value(a, value, path, trial)
            if not trial:
                return out
        errors.append(ConfigError(path, f"expected {' or '.join(_type_name(a) for a in args)}, got {_describe(value)}"))
        return None
    if origin is Literal:
        allowed = typing.get_args(tp)
        if value not in allowed:
            errors.append(ConfigError(path, f"must be one of {', '.join(repr(a) for a in allowed)}, got {value!r}"))
        return value
    if origin in (list, tuple):
        (item_tp, *_) = typing.get_args(tp) or (Any,)
        if value is None:
            return []
        if not isinstance(value, list):
            errors.append(ConfigError(path, f"expected a list, got {_describe(value)}"))
            return []
        return [decode_value(item_tp, v, f"{path}[{i}]", errors) for i, v in enumerate(value)]
    if origin is dict:
        _, val_tp = typing.get_args(tp) or (str, Any)
        if value is None:
            return {}
        if not isinstance(value, dict):
            errors.append(ConfigError(path, f"expected a mapping, got {_describe(value)}"))
            return {}
        return {str(k): decode_value(val_tp, v, join(path, str(k)), errors) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        return decode_dataclass(tp, value, path, errors)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(value)
        except ValueError:
            errors.append(ConfigError(path, f"must be one of {', '.join(repr(m.value) for m in tp)}, got {value!r}"))
            return None
    if tp is bool:
        if not isinstance(value, bool):
            errors.append(ConfigError(path, f"expected a boolean, got {_describe(value)}"))
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            errors.append(ConfigError(path, f"expected an integer, got {_describe(value)}"))
            return None
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            errors.append(ConfigError(path, f"expected a number, got {_describe(value)}"))
            return None
        return float(value)
    if tp is str:
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            errors.append(ConfigError(path, f"expected a string, got {_describe(value)}"))
            return None
        return str(value)  # YAML may read 8080 as an int where a string is meant
    return value


def decode_dataclass(cls, raw, path: str, errors: list[ConfigError]):
    if isinstance(raw, Expanded):
        raw = raw.value
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        errors.append(ConfigError(path, f"expected a mapping, got {_describe(raw)}"))
        return cls()
    hints = typing.get_type_hints(cls)
    fields = {yaml_key(f): f for f in dataclasses.fields(cls) if f.init}
    kwargs = {}
    for key, value in raw.items():
        f = fields.get(str(key))
        if f is None:
            known = ", ".join(sorted(fields)) or "none"
            errors.append(ConfigError(join(path, str(key)), f"unknown key (known keys: {known})"))
            continue
        hint = hints[f.name]
        if _is_null(value, hint) and not _optional(hint):
            continue  # `key:` (null) or an unset ${env:X} keeps the default, as for a nil in mapstructure
        kwargs[f.name] = decode_value(hints[f.name], value, join(path, str(key)), errors)
    try:
        obj = cls(**{k: v for k, v in kwargs.items() if v is not None or _optional(hints[k])})
    except TypeError as e:  # a required field without default
        errors.append(ConfigError(path, str(e)))
        return None
    validate = getattr(obj, "validate", None)
    if callable(validate):
        try:
            validate()
        except ConfigError as e:
            errors.append(ConfigError(join(path, e.path) if e.path else path, e.message))
        except ConfigErrors as e:
            errors.extend(ConfigError(join(path, x.path) if x.path else path, x.message) for x in e.errors)
        except ValueError as e:
            errors.append(ConfigError(path, str(e)))
    return obj


def _is_null(value, tp) -> bool:
    if isinstance(value, Expanded):
        return value.value is None and tp is not str
    return value is None


def _optional(tp) -> bool:
    return typing.get_origin(tp) in (Union, types.UnionType) and type(None) in typing.get_args(tp)


def decode(cls, raw, path: str = ""):
    """Decode raw YAML into cls, raising ConfigErrors with every problem found."""
    errors: list[ConfigError] = []
    obj = decode_dataclass(cls, raw, path, errors)
    if errors:
        raise ConfigErrors(errors)
    return obj
