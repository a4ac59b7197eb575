"""Parse free-form model answers for evaluation: lengths with units -> meters, yes/no, option
letters, direction words, clock hours, counts, 3D vectors.

Every parser returns None when it cannot read the answer.
"""

from __future__ import annotations

import re

_NUM = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+"
_UNIT_M = {
    "mm": 0.001, "millimeter": 0.001, "millimeters": 0.001, "millimetre": 0.001, "millimetres": 0.001,
    "cm": 0.01, "centimeter": 0.01, "centimeters": 0.01, "centimetre": 0.01, "centimetres": 0.01,
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "km": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0,
    "in": 0.0254, "inch": 0.0254, "inches": 0.0254, '"': 0.0254, "″": 0.0254,
    "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "'": 0.3048, "′": 0.3048,
    "yd": 0.9144, "yard": 0.9144, "yards": 0.9144,
}
_UNIT_RE = "|".join(sorted((re.escape(u) for u in _UNIT_M), key=len, reverse=True))
_LEN_RE = re.compile(rf"({_NUM})\s*({_UNIT_RE})(?![a-z])", re.IGNORECASE)
_FEET_INCHES = re.compile(rf"({_NUM})\s*(?:ft|foot|feet|'|′)\s*(?:and\s*)?({_NUM})\s*(?:in|inch|inches|\"|″)(?![a-z])",
                          re.IGNORECASE)
_WORD_NUMS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_WORD_NUMS["no"] = 0
_WORD_NUMS["none"] = 0


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def parse_length(text: str, default_unit: str | None = "m") -> float | None:
    """A length in meters: "1.2 m", "120 cm", "4 feet", "3 ft 4 in", "5'6\"", "47 inches".
    A bare number is read in ``default_unit`` (None: refuse)."""
    if text is None:
        return None
    t = text.strip()
    m = _FEET_INCHES.search(t)
    if m:
        return _num(m.group(1)) * 0.3048 + _num(m.group(2)) * 0.0254
    m = _LEN_RE.search(t)
    if m:
        return _num(m.group(1)) * _UNIT_M[m.group(2).lower()]
    if default_unit is None:
        return None
    m = re.search(_NUM, t)
    return _num(m.group(0)) * _UNIT_M[default_unit] if m else None


def parse_bool(text: str) -> bool | None:
    """Yes/no from the first decisive word ("Yes.", "no, it is not", "True")."""
    if text is None:
        return None
    m = re.search(r"\b(yes|yeah|yep|true|correct|no|nope|false|incorrect)\b", text.lower())
    if not m:
        return None
    return m.group(1) in ("yes", "yeah", "yep", "true", "correct")


def parse_choice(text: str, n_options: int = 4) -> str | None:
    """The option letter: "B", "(B)", "B.", "B) 1.2 m", "The answer is C", "option d"."""
    if text is None:
        return None
    letters = "ABCDEFGH"[:n_options]
    t = text.strip()
    m = re.match(rf"^\(?([{letters}])(?:[\).:\s]|$)", t)
    if m:
        return m.group(1)
    m = re.search(rf"\b(?:answer|option|choice)\s*(?:is|:)?\s*\(?([{letters}{letters.lower()}])\b", t, re.IGNORECASE)
    if m:
        return m.group(1).upper()
    m = re.search(rf"\b([{letters}])\b", t)
    return m.group(1) if m else None


_DIRECTIONS = (
    ("in front and to the left", ("front-left", "front left", "in front and to the left", "ahead and to the left")),
    ("in front and to the right", ("front-right", "front right", "in front and to the right", "ahead and to the right")),
    ("behind and to the left", ("back-left", "back left", "behind and to the left", "rear left")),
    ("behind and to the right", ("back-right", "back right", "behind and to the right", "rear right")),
    ("in front", ("in front", "ahead", "front", "closer")),
    ("behind", ("behind", "back", "farther", "further")),
    ("left", ("left",)), ("right", ("right",)), ("above", ("above", "higher", "over", "on top")),
    ("below", ("below", "lower", "under", "beneath")),
)


def parse_direction(text: str) -> str | None:
    """Normalized direction words: left, right, in front, behind, above, below, or a quadrant."""
    if text is None:
        return None
    t = text.lower()
    best = None
    for label, words in _DIRECTIONS:
        for w in words:
            i = t.find(w)
            if i >= 0 and (best is None or (len(label) > len(best[1]) and " and " in label) or
                           (" and " not in best[1] and i < best[0])):
                best = (i, label)
    return best[1] if best else None


def parse_facing(text: str) -> str | None:
    """Facing words: 'toward the camera', 'away from the camera and to the left', 'to the right', ..."""
    if text is None:
        return None
    t = text.lower()
    tow = "toward" in t or "towards" in t or "facing the camera" in t or "facing us" in t
    away = "away" in t
    left, right = "left" in t, "right" in t
    if tow and away:
        return None
    head = "toward the camera" if tow else ("away from the camera" if away else "")
    side = "to the left" if left and not right else ("to the right" if right and not left else "")
    if head and side:
        return f"{head} and {side}"
    return head or side or None


def parse_clock(text: str) -> int | None:
    if text is None:
        return None
    m = re.search(r"\b(1[0-2]|[1-9])\s*(?:o'?\s*clock|:00)", text.lower())
    if m:
        return int(m.group(1))
    m = re.search(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s*o'?\s*clock", text.lower())
    return _WORD_NUMS[m.group(1)] if m else None


def parse_count(text: str) -> int | None:
    if text is None:
        return None
    m = re.search(r"\b(\d+)\b", text)
    if m:
        return int(m.group(1))
    for w in re.findall(r"[a-z]+", text.lower()):
        if w in _WORD_NUMS:
            return _WORD_NUMS[w]
    return None


def parse_xyz(text: str) -> list[float] | None:
    """The first three numbers, in meters (a unit after them rescales all three)."""
    if text is None:
        return None
    nums = re.findall(_NUM, text)
    if len(nums) < 3:
        return None
    vals = [_num(n) for n in nums[:3]]
    m = re.search(rf"\)\s*({_UNIT_RE})(?![a-z])", text, re.IGNORECASE)
    scale = _UNIT_M[m.group(1).lower()] if m else 1.0
    return [v * scale for v in vals]


def parse_answer(text: str, answer_value: dict):
    """Parse ``text`` into the shape of ``answer_value`` (a decoded answer_value JSON object)."""
    if "bool" in answer_value:
        return parse_bool(text)
    if "choice" in answer_value:
        return parse_choice(text, len(answer_value.get("options", "ABCD")))
    if "xyz" in answer_value:
        return parse_xyz(text)
    if "count" in answer_value:
        return parse_count(text)
    if "clock" in answer_value:
        return parse_clock(text)
    if "meters" in answer_value or "value" in answer_value:
        return parse_length(text)
    if "label" in answer_value:
        return text.strip().rstrip(".").lower()
    return None
