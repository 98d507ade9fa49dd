"""OTLP metric and attribute names -> Prometheus names, as the collector's prometheus exporter
translates them (prometheus/otlptranslator, UnderscoreEscapingWithSuffixes by default)."""
from __future__ import annotations

import re

# Units the translator spells out (unitMap / perUnitMap).
UNIT_MAP = {
    "d": "days", "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
    "us": "microseconds", "ns": "nanoseconds",
    "By": "bytes", "KiBy": "kibibytes", "MiBy": "mebibytes", "GiBy": "gibibytes", "TiBy": "tibibytes",
    "KBy": "kilobytes", "MBy": "megabytes", "GBy": "gigabytes", "TBy": "terabytes",
    "m": "meters", "V": "volts", "A": "amperes", "J": "joules", "W": "watts", "g": "grams",
    "Cel": "celsius", "Hz": "hertz", "1": "", "%": "percent",
}
PER_UNIT_MAP = {"s": "second", "m": "minute", "h": "hour", "d": "day", "w": "week", "mo": "month",
                "y": "year"}

_NAME_SPLIT = re.compile(r"[^a-zA-Z0-9:]+")
_LABEL_BAD = re.compile(r"[^a-zA-Z0-9_]")
_METRIC_BAD = re.compile(r"[^a-zA-Z0-9_:]")


def _clean_unit(text: str) -> str:
    return "_".join(t for t in re.split(r"[^a-zA-Z0-9]+", text) if t)


def unit_suffixes(unit: str) -> tuple[str, str]:
    parts = unit.split("/", 1)
    main = parts[0].strip()
    main_suffix = "" if not main or "{" in main or "}" in main else UNIT_MAP.get(main, main)
    per_suffix = ""
    if len(parts) > 1 and parts[1].strip():
        per = parts[1].strip()
        if "{" not in per and "}" not in per:
            per_suffix = PER_UNIT_MAP.get(per, per)
    return _clean_unit(main_suffix), _clean_unit(per_suffix)


def clean_up(text: str) -> str:
    """CleanUpString, which the exporter applies to its namespace: runs of characters other
    than letters and digits become one '_' ("test-space" -> "test_space")."""
    return "_".join(t for t in re.split(r"[^a-zA-Z0-9]+", text) if t)


def metric_name(name: str, unit: str, kind: str, namespace: str = "", add_suffixes: bool = True) -> str:
    """kind: 'counter' (monotonic sum), 'gauge', 'sum' (non-monotonic sum, exposed as a gauge
    but, as upstream, never given _ratio), 'histogram', 'summary'."""
    if not add_suffixes:
        out = _METRIC_BAD.sub("_", name)
        if namespace:
            out = f"{_METRIC_BAD.sub('_', namespace)}_{out}"
        return "_" + out if out[:1].isdigit() else out
    tokens = [t for t in _NAME_SPLIT.split(name) if t]
    main, per = unit_suffixes(unit)
    if main and main not in tokens:
        tokens.append(main)
    if per and per not in tokens:
        tokens += ["per", per]
    if kind == "counter":
        tokens = [t for t in tokens if t != "total"] + ["total"]
    if unit == "1" and kind == "gauge":
        tokens = [t for t in tokens if t != "ratio"] + ["ratio"]
    if namespace:
        tokens.insert(0, namespace)
    out = "_".join(tokens)
    return "_" + out if out[:1].isdigit() else out


def label_name(key: str) -> str:
    """NormalizeLabel: invalid characters become '_'; a leading digit gets 'key_', a single
    leading underscore 'key'."""
    if not key:
        return key
    out = _LABEL_BAD.sub("_", key)
    if out[0].isdigit():
        return "key_" + out
    if out.startswith("_") and not out.startswith("__"):
        return "key" + out
    return out


def format_value(v: float) -> str:
    """Go's strconv.FormatFloat(v, 'g', -1, 64), which the text format uses."""
    if v != v:
        return "NaN"
    if v == float("inf"):
        return "+Inf"
    if v == float("-inf"):
        return "-Inf"
    if v == 0:
        return "-0" if str(v).startswith("-") else "0"
    r = repr(float(v))
    sign = "-" if r.startswith("-") else ""
    r = r.lstrip("-")
    mant, _, exp = r.partition("e")
    exp10 = int(exp) if exp else 0
    whole, _, frac = mant.partition(".")
    digits = (whole + frac).lstrip("0")
    # decimal point position relative to the first significant digit
    lead_zeros = len(whole + frac) - len((whole + frac).lstrip("0"))
    dp = len(whole) - lead_zeros + exp10
    digits = digits.rstrip("0") or "0"
    x = dp - 1
    # shortest 'g' switches to the exponent form at exponent 6 whatever the digit count
    eprec = 6
    if x < -4 or x >= eprec:
        m = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{m}e{'+' if x >= 0 else '-'}{abs(x):02d}"
    if dp <= 0:
        return f"{sign}0.{'0' * (-dp)}{digits}"
    if dp >= len(digits):
        return f"{sign}{digits}{'0' * (dp - len(digits))}"
    return f"{sign}{digits[:dp]}.{digits[dp:]}"


def escape_label_value(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def escape_help(v: str) -> str:
    return v.replace("\\", "\\\\").replace("\n", "\\n")
