"""Collector-shaped configuration: load YAML, decode typed dataclasses, validate with key paths."""
from .decode import ConfigError, ConfigErrors, decode, decode_value
from .types import ByteSize, Duration, format_duration, parse_bytesize, parse_duration

__all__ = ["ByteSize", "ConfigError", "ConfigErrors", "Duration", "decode", "decode_value",
           "format_duration", "load_config", "parse_bytesize", "parse_duration"]


def load_config(paths, sets=None, env=None, registry=None):
    """Read, merge, expand and validate: a Config, or ConfigErrors listing every problem."""
    from ..registry import default_registry
    from .loader import load_raw
    from .service import build_config

    raw = load_raw(list(paths), sets, env)
    return build_config(raw, registry or default_registry())
