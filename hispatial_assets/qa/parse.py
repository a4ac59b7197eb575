"""Parse free-form answers (ours, a model's, a benchmark's): lengths with units -> meters, yes/no,
option letters, direction and facing words, clock hours, counts, 3D vectors, 2D points, and which
of a question's named candidates an answer picks.

Pure and deterministic; every parser returns None when it cannot read the answer (evaluation scores
that as wrong and counts it as a parse failure).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

_NUM = r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+"
_UNIT_M = {
    "mm": 0.001, "millimeter": 0.001, "millimeters": 0.001, "millimetre": 0.001, "millimetres": 0.001,
    "cm": 0.01, "centimeter": 0.01, "centimeters": 0.01, "centimetre": 0.01, "centimetres": 0.01,
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "km": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0,
    "in": 0.0254, "inch": 0.0254, "inches": 0.0254, '"': 0.0254, "″": 0.0254,
    "ft": 0.3048, "foot": 0.3048, "feet": 0.3048, "'": 0.3048, "′": 0.3048,
    "yd": 0.9144, "yds": 0.9144, "yard": 0.9144, "yards": 0.9144,
}
_UNIT_RE = "|".join(sorted((re.escape(u) for u in _UNIT_M), key=len, reverse=True))
_UNIT_END = r"\.?(?![a-z])"  # "ft." and "in." read as units; "m" in "more" does not
_LEN_RE = re.compile(rf"({_NUM})\s*-?\s*({_UNIT_RE}){_UNIT_END}", re.IGNORECASE)
_RANGE_RE = re.compile(rf"(?:between\s+)?({_NUM})\s*(?:-|–|to|and)\s*({_NUM})\s*({_UNIT_RE}){_UNIT_END}", re.IGNORECASE)
_FEET_INCHES = re.compile(
    rf"({_NUM})\s*(?:ft|foot|feet|'|′)\.?\s*(?:and\s*)?({_NUM})\s*(?:in|inch|inches|\"|″)\.?(?![a-z])", re.IGNORECASE)
_WORD_NUMS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen sixteen "
    "seventeen eighteen nineteen twenty".split())}
_WORD_NUMS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90})
_WORD_NUMS["no"] = 0
_WORD_NUMS["none"] = 0
_NUMBER_WORDS = "|".join(sorted((w for w in _WORD_NUMS if w not in ("no", "none")), key=len, reverse=True))
# spelled-out quantities before a unit: "half a meter", "a foot", "one and a half meters", "two feet"
_SPELLED = [
    (re.compile(rf"\b({_NUMBER_WORDS}|{_NUM})\s+and\s+a\s+half\b", re.IGNORECASE),
     lambda m: str(_word_or_num(m.group(1)) + 0.5)),
    (re.compile(r"\b(?:one\s+|a\s+)?half\s+(?:a|an)\b", re.IGNORECASE), lambda m: "0.5"),
    (re.compile(r"\b(?:one|a)\s+quarter\s+(?:of\s+)?(?:a|an)\b", re.IGNORECASE), lambda m: "0.25"),
    (re.compile(rf"\b(?:a|an)\s+(?=(?:{_UNIT_RE})\b)", re.IGNORECASE), lambda m: "1 "),
    (re.compile(rf"\b({_NUMBER_WORDS})(?=\s+(?:{_UNIT_RE})\b)", re.IGNORECASE), lambda m: str(_WORD_NUMS[m.group(1).lower()])),
]


def _num(s: str) -> float:
    return float(s.replace(",", ""))


def _word_or_num(s: str) -> float:
    return float(_WORD_NUMS[s.lower()]) if s.lower() in _WORD_NUMS else _num(s)


def _spelled_to_digits(text: str) -> str:
    for pattern, repl in _SPELLED:
        text = pattern.sub(repl, text)
    return text


def parse_length(text: str, default_unit: str | None = "m") -> float | None:
    """A length in meters: "1.2 m", "120 cm", "4 feet", "about 3 ft", "2 feet 6 inches", "5'6\"",
    "half a meter", "one and a half yards", "1-2 m" (a range reads as its middle).
    A bare number is read in ``default_unit`` (None: refuse)."""
    if text is None:
        return None
    t = _spelled_to_digits(text.strip())
    m = _FEET_INCHES.search(t)
    if m:
        return _num(m.group(1)) * 0.3048 + _num(m.group(2)) * 0.0254
    m = _LEN_RE.search(t)
    r = _RANGE_RE.search(t)
    if r and (m is None or r.start() <= m.start()):
        lo, hi = _num(r.group(1)), _num(r.group(2))
        if 0 <= lo <= hi:
            return (lo + hi) / 2 * _UNIT_M[r.group(3).lower()]
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


def _norm(text: str) -> str:
    """Lowercase, punctuation other than brackets/decimal points dropped, single spaces."""
    t = re.sub(r"[^\w\[\]().,\-' ]+", " ", text.lower())
    t = re.sub(r"(?<!\d)[.,]|[.,](?!\d)", " ", t)
    return " ".join(t.split())


def _mentions(text: str, phrases: Sequence[str]) -> list[tuple[int, int]]:
    """(position, phrase index) of each phrase the text names, longest phrases first, each claiming the
    first whole-word occurrence that no longer phrase already covers ("the smallest plant" inside "the
    plant in front of the smallest plant" is not a mention of its own). Sorted by position."""
    claimed: list[tuple[int, int]] = []
    found = []
    for k in sorted(range(len(phrases)), key=lambda k: -len(phrases[k])):
        p = phrases[k]
        if not p:
            continue
        for m in re.finditer(rf"(?<![\w.]){re.escape(p)}(?![\w])", text):
            if not any(a < m.end() and m.start() < b for a, b in claimed):
                claimed.append((m.start(), m.end()))
                found.append((m.start(), k))
                break
    return sorted(found)


def parse_choice(text: str, n_options: int = 4, options: Sequence[str] | None = None) -> str | None:
    """The option letter: "B", "(B)", "B.", "B) 1.2 m", "The answer is C", "option d", or, given the
    ``options``, the option's text alone ("1.2 m"). "A chair ..." is an article, not option A."""
    if text is None:
        return None
    letters = "ABCDEFGH"[:n_options]
    t = text.strip()
    m = re.match(rf"^\(?([{letters}])(?:[\).:,]|\s*$|\s+)", t)
    if m and not _article(t, m):
        return m.group(1)
    m = re.search(rf"\b(?:answer|option|choice)\s*(?:is|:)?\s*\(?([{letters}{letters.lower()}])\b", t, re.IGNORECASE)
    if m:
        return m.group(1).upper()
    if options:
        hits = _mentions(_norm(t), [_norm(o) for o in options[:n_options]])
        if len(hits) == 1:
            return letters[hits[0][1]]
        if hits:
            return None  # names several options
    for m in re.finditer(rf"(?<![\w'])([{letters}])(?![\w'])", t):
        if not _article(t, m):
            return m.group(1)
    return None


def _article(text: str, m: re.Match) -> bool:
    """An "A" followed by a lowercase word is the article ("A chair is closer"), not option A."""
    return m.group(1) == "A" and re.match(r"\(?A\s+[a-z]", text[m.start():]) is not None


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
DIRECTION_LABELS: tuple[str, ...] = tuple(label for label, _ in _DIRECTIONS)


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
    """A clock hour 1..12: "3 o'clock", "three o’clock", "at 3:00"."""
    if text is None:
        return None
    t = text.lower().replace("’", "'")
    m = re.search(r"\b(1[0-2]|[1-9])\s*(?:o'?\s*clock|:00)", t)
    if m:
        return int(m.group(1))
    m = re.search(r"\b(one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\s*o'?\s*clock", t)
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
    m = re.search(rf"[\)\]]\s*({_UNIT_RE})(?![a-z])", text, re.IGNORECASE)
    scale = _UNIT_M[m.group(1).lower()] if m else 1.0
    return [v * scale for v in vals]


_POINT_RE = re.compile(r"[\(\[]\s*([-+]?\d*\.?\d+)\s*,\s*([-+]?\d*\.?\d+)\s*[\)\]]")


def parse_point(text: str) -> tuple[float, float] | None:
    """The first 2D point written as (x, y) or [x, y]."""
    if text is None:
        return None
    m = _POINT_RE.search(text)
    return (float(m.group(1)), float(m.group(2))) if m else None


def parse_candidate(text: str, candidates: Sequence[str]) -> int | None:
    """1-based position of the one candidate the answer names ("The red chair." among the objects a
    question lists; "Point 2"); None when it names none or several."""
    if text is None or not candidates:
        return None
    hits = _mentions(_norm(text), [_norm(c) for c in candidates])
    return hits[0][1] + 1 if len(hits) == 1 else None


def parse_order(text: str, candidates: Sequence[str]) -> list[int] | None:
    """The candidates in the order the answer names them (1-based positions); None unless every
    candidate is named exactly once."""
    if text is None or not candidates:
        return None
    hits = _mentions(_norm(text), [_norm(c) for c in candidates])
    if sorted(k for _, k in hits) != list(range(len(candidates))):
        return None
    return [k + 1 for _, k in hits]


def parse_answer(text: str, answer_value: dict):
    """Parse ``text`` into the shape of ``answer_value`` (a decoded answer_value JSON object)."""
    if "bool" in answer_value:
        return parse_bool(text)
    if "choice" in answer_value:
        return parse_choice(text, len(answer_value.get("options", "ABCD")), answer_value.get("options"))
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
