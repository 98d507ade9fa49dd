"""Kubernetes resource.Quantity strings ("100m", "1Gi", "1.5e3") as numbers.

The API server sends quantities as strings in canonical form; we need Value() (bytes, counts,
rounded up as apimachinery does) and MilliValue() (CPU millicores).
"""
from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation

_BINARY = {"Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60}
_DECIMAL = {"n": Decimal("1e-9"), "u": Decimal("1e-6"), "m": Decimal("1e-3"), "": Decimal(1),
            "k": Decimal("1e3"), "M": Decimal("1e6"), "G": Decimal("1e9"), "T": Decimal("1e12"),
            "P": Decimal("1e15"), "E": Decimal("1e18")}
_RE = re.compile(r"^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]))?$")


# "No quantity may represent a number greater than 2^63-1 in magnitude" (resource.Quantity).
_MAX = Decimal(2 ** 63 - 1)


def parse_quantity(text) -> Decimal:
    """The exact value of a quantity; ValueError on anything the API server would reject."""
    try:
        q = _parse(text)
    except ArithmeticError:  # decimal.Overflow: an exponent like 1e999999999
        raise ValueError(f"quantity {text!r} out of range") from None
    if not q.is_finite() or abs(q) > _MAX:
        raise ValueError(f"quantity {text!r} out of range")
    return q


def _parse(text) -> Decimal:
    if isinstance(text, bool):
        raise ValueError(f"invalid quantity {text!r}")
    if isinstance(text, (int, float)):
        return Decimal(str(text))
    if not isinstance(text, str):
        raise ValueError(f"invalid quantity {text!r}")
    m = _RE.match(text.strip())
    if not m:
        raise ValueError(f"invalid quantity {text!r}")
    try:
        number = Decimal(m.group(1))
    except InvalidOperation as e:  # pragma: no cover - the regex admits only decimals
        raise ValueError(f"invalid quantity {text!r}") from e
    if m.group(2):
        return number * (Decimal(10) ** int(m.group(2)[1:]))
    suffix = m.group(3) or ""
    if suffix in _BINARY:
        return number * _BINARY[suffix]
    return number * _DECIMAL[suffix]


def value(text) -> int:
    """apimachinery's Quantity.Value(): rounded up to an integer."""
    return int(math.ceil(parse_quantity(text)))


def milli_value(text) -> int:
    """apimachinery's Quantity.MilliValue(): thousandths, rounded up."""
    return int(math.ceil(parse_quantity(text) * 1000))
