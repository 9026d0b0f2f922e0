"""Small validators shared by the contracts; each raises ValueError naming the field."""

from __future__ import annotations

import math
from enum import Enum
from typing import TypeVar

E = TypeVar("E", bound=Enum)


def require_finite(owner: str, field: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{owner}.{field}: must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{owner}.{field}: must be finite, got {value!r}")
    return float(value)


def require_text(owner: str, field: str, value: object) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{owner}.{field}: must be a non-empty string, got {value!r}")
    return value


def require_int(owner: str, field: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{owner}.{field}: must be an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{owner}.{field}: must be >= {minimum}, got {value}")
    return value


def coerce_enum(owner: str, field: str, enum_type: type[E], value: object) -> E:
    if isinstance(value, enum_type):
        return value
    try:
        return enum_type(value)
    except ValueError:
        allowed = ", ".join(member.value for member in enum_type)
        raise ValueError(f"{owner}.{field}: must be one of {allowed}; got {value!r}") from None


def close_enough(a: float, b: float) -> bool:
    """Tolerance for sums of currency amounts computed in floating point."""
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)
