"""Length units in questions and answers: meters by default, a human-like mix as an option.

``answer_value`` of a length keeps the shown unit and value and the value in meters:
``{"value": 120, "unit": "cm", "meters": 1.2}``. Display rounding: m to 2 decimals, cm and inches
to integers, feet to 1 decimal.
"""

from __future__ import annotations

import random

METERS_PER_UNIT: dict[str, float] = {"m": 1.0, "cm": 0.01, "in": 0.0254, "ft": 0.3048}
UNIT_WORDS: dict[str, str] = {"m": "meters", "cm": "centimeters", "in": "inches", "ft": "feet"}
# half the display resolution of each unit, in meters (the rounding error a shown value can carry)
ROUNDING_M: dict[str, float] = {"m": 0.005, "cm": 0.005, "in": 0.0127, "ft": 0.01524}
_MIXED = ("m", "m", "m", "cm", "cm", "in", "ft", "ft")


def pick_unit(rnd: random.Random, mode: str, meters: float = 1.0) -> str:
    """The unit for one question: always "m" in metric mode; in mixed mode a human-like choice."""
    if mode == "metric":
        return "m"
    u = _MIXED[int(rnd.random() * len(_MIXED))]
    if u == "cm" and meters > 5.0:
        return "m"
    return u


def shown(meters: float, unit: str) -> tuple[str, float]:
    """(number text, value in meters of the shown number) for a length in ``unit``."""
    if unit == "m":
        t = f"{meters:.2f}"
    elif unit == "cm":
        t = str(int(round(meters * 100.0)))
    elif unit == "in":
        t = str(int(round(meters / 0.0254)))
    elif unit == "ft":
        t = f"{meters / 0.3048:.1f}"
    else:
        raise ValueError(f"unknown unit {unit!r}")
    return t, float(t) * METERS_PER_UNIT[unit]


def length_text(meters: float, unit: str) -> str:
    """"1.23 m", "123 cm", "48 inches", "4.1 feet"."""
    t, _ = shown(meters, unit)
    return f"{t} {unit_word(unit)}"


def unit_word(unit: str) -> str:
    """How a length in ``unit`` names it after the number: "m", "cm", "inches", "feet"."""
    return unit if unit in ("m", "cm") else UNIT_WORDS[unit]
