"""Reading QA rows back from their text, independently of the generators.

A row is only worth training on if its question asks what its answer answers. The reader checks
that from what a learner sees: it reads the question text (with the image's referral expressions
as its vocabulary of object names), recovers what is asked — the task, the relation or quantity,
the objects named and their roles, the pixels, the move of a multi-step problem, the claim of a
yes/no question — and recomputes the answer from the geometry (the objects table, and the point
map for L0) with the definitions of DESIGN §3/§4, written here from scratch. Then it checks every
field a learner sees or a tool reads: the answer text, ``answer_value`` (and its extra keys), the
options and the correct letter, ``object_ids``; and, as DESIGN §3 asks, that no comparison was
asked under the margins of the QA config.

Nothing of the generators is used: not their templates, not their programs, not the ``program``
column. Shared are only the referral table (the expressions, with the class + box fallback for
objects without a unique one) and the unit/number parsers (`qa.parse`, `qa.units`).

Two modes (`Judge`):

- **exact** (``against="objects"``): the geometry the rows were made from. Numbers must match to
  the shown rounding (2 decimals for meters, integers for cm and inches, 1 decimal for feet; 3
  decimals in ``answer_value``), a yes/no "about" claim is yes within that rounding and no beyond
  the comparison margin, and every comparison must pass the margins. Any difference is a failure.
- **truth** (``against="gt_objects"``): the scene's ground truth, to measure the label noise that
  estimation causes. A row stays true when its answer is the truth's answer: the same word, count,
  object, order or sign of a comparison, and for numbers a value the dataset itself could not tell
  from the truth — within the comparison margin, ``max(margin_abs_m, margin_rel * |truth|)``, or the
  shown rounding if larger. Margins are not required of the truth (a true answer stays true).

`read_rows` returns one verdict per row (read / holds / reason); `coverage` summarizes them per
task × format. A row the reader cannot read is reported as unread, never skipped.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import polars as pl

from hispatial_assets.perception.referral.common import fallback_expression
from hispatial_assets.qa.config import TASK_LEVEL, QAConfig
from hispatial_assets.qa.parse import (parse_bool, parse_clock, parse_count, parse_direction, parse_facing,
                                       parse_length, parse_xyz)
from hispatial_assets.qa.units import METERS_PER_UNIT, ROUNDING_M, UNIT_WORDS

LETTERS = "ABCD"
_UNIT_OF_WORD = {w: u for u, w in UNIT_WORDS.items()} | {"m": "m", "cm": "cm"}
_OPEN, _CLOSE = "\u27e6", "\u27e7"  # object markers: an expression becomes ⟦object_id⟧
_MARKED = re.compile(f"{_OPEN}(\\d+){_CLOSE}")
_XYZ_ROUNDING = 0.005  # xyz texts show 2 decimals
_XYZ_VALUE_ROUNDING = 0.0005  # answer_value xyz keeps 3
_METERS_VALUE_ROUNDING = 0.00005  # answer_value "meters" keeps 4
_EPS = 1e-9


class Unanswerable(Exception):
    """The scene lacks what the question needs (an object, a front, a valid pixel)."""


class Misphrased(ValueError):
    """The text reads as a question form but says something wrong (a frame, a view, its options)."""


# ---------------------------------------------------------------------------------------------
# The image: names (referral expressions) and geometry

class Names:
    """The image's object names: each object's referral expression, or the class + box fallback when
    it has none or shares it with an earlier object (by id), exactly the vocabulary questions use."""

    def __init__(self, objects: pl.DataFrame | None, referrals: pl.DataFrame | None, width: int, height: int):
        self.expression: dict[int, str] = {}
        given: dict[int, str] = {}
        if referrals is not None and len(referrals):
            for oid, expr in referrals.select("object_id", "expression").iter_rows():
                if expr:
                    given[int(oid)] = str(expr)
        seen: set[str] = set()
        if objects is not None and len(objects):
            rows = objects.select("object_id", "label", "box_x0", "box_y0", "box_x1", "box_y1").sort("object_id")
            for oid, label, *box in rows.iter_rows():
                expr = given.get(int(oid))
                if expr is None or expr in seen:
                    box = np.array([0.0 if v is None else v for v in box], dtype=np.float64)
                    expr = fallback_expression(str(label).replace("_", " "), np.nan_to_num(box), width, height)
                seen.add(expr)
                self.expression[int(oid)] = expr
        forms: dict[str, int] = {}
        for oid, expr in self.expression.items():
            forms[expr] = oid
            forms.setdefault(expr[:1].upper() + expr[1:], oid)  # at the start of a sentence or option
        self._id_of = forms
        alternatives = sorted(forms, key=len, reverse=True)  # the longest name wins where names nest
        self._pattern = (re.compile(r"(?<!\w)(?:" + "|".join(map(re.escape, alternatives)) + r")(?!\w)")
                         if alternatives else None)

    def mark(self, text: str) -> str:
        """``text`` with every object name replaced by ``⟦object_id⟧``."""
        if self._pattern is None:
            return text
        return self._pattern.sub(lambda m: f"{_OPEN}{self._id_of[m.group(0)]}{_CLOSE}", text)

    def object_of(self, text: str) -> int | None:
        """The object a text (an option, an answer) names, when it is exactly one name (+ a period)."""
        m = _MARKED.fullmatch(self.mark(text.strip()).rstrip("."))
        return int(m.group(1)) if m else None


def _sector_words(k: int) -> str:
    """Facing words of sector k (45° sectors centered on 0° = +x, counter-clockwise seen from above):
    the front's x component reads right/left, its y component away from/toward the camera."""
    a = math.radians(45.0 * k)
    fx, fy = round(math.cos(a), 6), round(math.sin(a), 6)
    head = "away from the camera" if fy > 0 else ("toward the camera" if fy < 0 else "")
    side = "to the right" if fx > 0 else ("to the left" if fx < 0 else "")
    return " and ".join(p for p in (head, side) if p)


FACING = tuple(_sector_words(k) for k in range(8))
QUADRANT_WORDS = tuple(f"{fb} and to the {lr}" for fb in ("in front", "behind") for lr in ("left", "right"))


class Scene:
    """One image's geometry as the reader sees it: objects (gravity frame) and the point map (camera frame)."""

    def __init__(self, objects: pl.DataFrame | None, point_map=None, width: int = 0, height: int = 0):
        df = objects if objects is not None and len(objects) else None
        self.width, self.height = width, height
        self.point_map = point_map
        if df is None:
            self.ids: list[int] = []
            self.index: dict[int, int] = {}
            return
        df = df.sort("object_id")
        self.ids = [int(x) for x in df["object_id"].to_list()]
        self.index = {oid: i for i, oid in enumerate(self.ids)}
        self.labels = [str(x).replace("_", " ") for x in df["label"].to_list()]

        def col(name: str) -> np.ndarray:
            if name not in df.columns:
                return np.full(len(df), np.nan)
            return np.array([np.nan if v is None else v for v in df[name].to_list()], dtype=np.float64)

        self.center = np.stack([col("center_x"), col("center_y"), col("center_z")], axis=1)
        self.whd = np.stack([col("width"), col("depth"), col("height")], axis=1)
        self.yaw = np.nan_to_num(col("yaw"))
        self.front = col("front_yaw")
        hidden = np.zeros(len(df), dtype=bool)
        for c in ("truncated", "occluded"):
            if c in df.columns:
                hidden |= np.array([bool(v) for v in df[c].to_list()])
        self.whole = ~hidden & np.all(self.whd > 0, axis=1)  # sizes are only asked of whole objects

    def i(self, oid: int) -> int:
        try:
            return self.index[oid]
        except KeyError:
            raise Unanswerable(f"object {oid} is not in the scene") from None

    def c(self, oid: int) -> np.ndarray:
        return self.center[self.i(oid)]

    def size(self, oid: int, dim: str) -> float:
        w, d, h = self.whd[self.i(oid)]
        return float({"width": w, "depth": d, "height": h, "volume": w * d * h}[dim])

    def cam_dist(self, oid: int) -> float:
        return float(np.linalg.norm(self.c(oid)))

    def dist(self, a: int, b: int) -> float:
        return float(np.linalg.norm(self.c(b) - self.c(a)))

    def front_of(self, oid: int) -> float:
        f = self.front[self.i(oid)]
        if not np.isfinite(f):
            raise Unanswerable(f"object {oid} has no known front")
        return float(f)

    def reach(self, oid: int, u: np.ndarray) -> float:
        """How far object oid's footprint extends from its center along horizontal unit vector u."""
        i = self.i(oid)
        c, s = math.cos(self.yaw[i]), math.sin(self.yaw[i])
        w, d = self.whd[i, 0], self.whd[i, 1]
        return float(abs(u[0] * c + u[1] * s) * w / 2 + abs(-u[0] * s + u[1] * c) * d / 2)

    def gap(self, a: int, b: int) -> float:
        """Free horizontal space between the two footprints along the line joining their centers."""
        d = (self.c(b) - self.c(a))[:2]
        n = float(np.hypot(d[0], d[1]))
        if n < 1e-9:
            return -1.0
        u = d / n
        return n - self.reach(a, u) - self.reach(b, -u)

    def pixel_points(self, px: str) -> np.ndarray:
        """The valid camera-frame points of every pixel whose center falls in the 0-1000 grid cell ``px``."""
        if self.point_map is None:
            raise Unanswerable("an L0 question needs the point map")
        nu, nv = (int(v) for v in px.split(","))
        H, W = self.point_map.mask.shape
        us = [u for u in range(int(nu * W / 1000) - 1, int((nu + 1) * W / 1000) + 2)
              if 0 <= u < W and int((u + 0.5) * 1000 / W) == nu]
        vs = [v for v in range(int(nv * H / 1000) - 1, int((nv + 1) * H / 1000) + 2)
              if 0 <= v < H and int((v + 0.5) * 1000 / H) == nv]
        pts = [self.point_map.xyz[v, u] for v in vs for u in us if self.point_map.mask[v, u]]
        if not pts:
            raise Unanswerable(f"pixel [{px}] shows no valid point")
        return np.asarray(pts, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# Judging: exact (rounding + margins) or against the truth (margins as tolerance)

@dataclass(frozen=True)
class Judge:
    """How strictly a row is held to a scene: ``exact`` (the geometry it was made from: shown rounding,
    margins required) or not (the truth: the margin is the tolerance). Margins come from ``config``."""

    config: QAConfig
    exact: bool = True

    def passes(self, diff: float, scale: float) -> bool:
        c = self.config
        return abs(diff) >= max(c.margin_abs_m, c.margin_rel * abs(scale)) - _EPS

    def length_tolerance(self, truth: float, unit: str) -> float:
        if self.exact:
            return ROUNDING_M.get(unit, 0.005) + 1e-6
        c = self.config
        return max(ROUNDING_M.get(unit, 0.005), c.margin_abs_m, c.margin_rel * abs(truth)) + 1e-6

    def xyz_tolerance(self, truth: np.ndarray) -> float:
        """Per-component rounding (exact) or the margin on the Euclidean error (truth)."""
        if self.exact:
            return _XYZ_ROUNDING + 1e-6
        c = self.config
        return max(c.margin_abs_m, c.margin_rel * float(np.linalg.norm(truth))) + 1e-6

    def xyz_close(self, shown: Iterable[float], truth: np.ndarray) -> bool:
        err = np.asarray(list(shown), dtype=np.float64) - truth
        return bool(np.max(np.abs(err)) <= self.xyz_tolerance(truth) if self.exact
                    else np.linalg.norm(err) <= self.xyz_tolerance(truth))


# ---------------------------------------------------------------------------------------------
# What a question asks

Solve = Callable[[Scene, Judge], tuple[Any, "str | None"]]  # -> (truth, doubt: why it is ambiguous)


@dataclass
class Ask:
    """What one question asks, as read from its text.

    ``kind``: the answer's kind (length, xyz, facing, side, quadrant, clock, count, pick, order,
    point_index, pixel, bool). ``solve(scene, judge)`` gives the truth in that kind and, in exact
    mode, the reason the question is ambiguous there (a margin not met), else None. ``named``: the
    objects the text names, in order of mention (options included). ``positions``: for ``pick``
    answers, the list whose 1-based position ``answer_value.index`` gives.
    """

    task: str
    kind: str
    solve: Solve
    named: tuple[int, ...] = ()
    unit: str | None = None
    frame: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    positions: Callable[[Scene], list[int]] | None = None
    refers: Callable[[Scene, Any], set[int]] | None = None  # object_ids beyond the named ones
    relation: str = ""
    move: tuple[str, float] | None = None
    pixels: tuple[str, ...] = ()

    def object_ids(self, scene: Scene, truth: Any) -> set[int]:
        return set(self.named) | (self.refers(scene, truth) if self.refers else set())


@dataclass
class Reading:
    """A question read back: its form, its options, what it asks."""

    task: str
    format: str
    ask: Ask
    options: list[str]


# ---------------------------------------------------------------------------------------------
# Vocabulary of the question language (words -> meaning)

_SLOTS = {
    **{k: f"{_OPEN}(?P<{k}>\\d+){_CLOSE}" for k in ("a", "b", "c", "o", "x", "y", "z")},
    "items": f"(?P<items>{_OPEN}\\d+{_CLOSE}(?:, {_OPEN}\\d+{_CLOSE})* and {_OPEN}\\d+{_CLOSE})",
    **{k: f"\\[(?P<{k}>\\d+, \\d+)\\]" for k in ("px", "p1", "p2")},
    "xyz": r"\((?P<xyz>-?\d+\.\d+, -?\d+\.\d+, -?\d+\.\d+)\)",
    **{k: f"(?P<{k}>\\d+(?:\\.\\d+)? (?:m|cm|inches|feet))" for k in ("t", "r", "w", "amt")},
    "k": r"(?P<k>\d+)",
    "frame": r"(?P<frame>(?:[Ii]n|[Uu]sing) [^?()]*?\([^()]*\))",
    "hint": r"in (?P<hint>meters|centimeters|inches|feet)",
    "dirn": "(?P<dirn>to the right|to the left|toward the camera|away from the camera)",
    "things": r"(?P<things>[a-z][a-z' -]*?)",
}
_CAMERA_VIEWS = ("from the camera's viewpoint", "as seen from the camera", "from the camera's point of view")
_GRAVITY_VIEWS = ("in the gravity-aligned frame (z up)", "with respect to gravity",
                  "along the vertical axis of the gravity-aligned frame")
_BEHIND_NOTE = " (farther from the camera counts as behind)"


def _either_case(phrase: str) -> str:
    return f"[{phrase[0].lower()}{phrase[0].upper()}]{re.escape(phrase[1:])}"


_VIEW = "(?P<view>" + "|".join(sorted(
    [_either_case(v + n) for v in _CAMERA_VIEWS for n in ("", _BEHIND_NOTE)] + [_either_case(v) for v in _GRAVITY_VIEWS],
    key=len, reverse=True)) + ")"
_SLOTS["view"] = _VIEW
_SLOTS["facing"] = "(?P<facing>" + "|".join(map(re.escape, sorted(FACING, key=len, reverse=True))) + ")"

# relation words: (axis, sign): b is <word> of a when sign * (b - a)[axis] > 0
REL = {"to the left of": (0, -1), "to the right of": (0, 1), "in front of": (1, -1), "behind": (1, 1),
       "above": (2, 1), "below": (2, -1)}
AXIS_CHOICE = {"to the left or to the right of": 0, "in front of or behind": 1, "above or below": 2}
AXIS_WORDS = {0: ("left", "right"), 1: ("in front", "behind"), 2: ("below", "above")}  # (negative, positive)
PERSP = {"to its left": ("lr", -1), "to its right": ("lr", 1), "in front of it": ("fb", 1), "behind it": ("fb", -1)}
PROPERTY = {  # comparative word -> (quantity, +1 greater / -1 lesser)
    "taller": ("height", 1), "shorter": ("height", -1), "wider": ("width", 1), "narrower": ("width", -1),
    "bigger": ("volume", 1), "smaller": ("volume", -1),
    "farther from the camera": ("cam_dist", 1), "closer to the camera": ("cam_dist", -1),
}
SUPERLATIVE = {
    "tallest": ("height", 1), "shortest": ("height", -1), "widest": ("width", 1), "narrowest": ("width", -1),
    "biggest": ("volume", 1), "smallest": ("volume", -1),
    "farthest from the camera": ("cam_dist", 1), "closest to the camera": ("cam_dist", -1),
}
ORDERING = {  # "from X to Y" -> (quantity, +1 ascending / -1 descending)
    "from shortest to tallest": ("height", 1), "from tallest to shortest": ("height", -1),
    "from narrowest to widest": ("width", 1), "from widest to narrowest": ("width", -1),
    "from smallest to biggest": ("volume", 1), "from biggest to smallest": ("volume", -1),
    "from closest to farthest (distance from the camera)": ("cam_dist", 1),
    "from farthest to closest (distance from the camera)": ("cam_dist", -1),
}
SIZE_COMPARATIVE = {"taller than": ("height", 1), "shorter than": ("height", -1), "wider than": ("width", 1),
                    "narrower than": ("width", -1), "deeper than": ("depth", 1), "shallower than": ("depth", -1)}
MORE_LESS = {"more than": 1, "less than": -1}
COMPONENT_NAMES = {"horizontal": "horizontal", "vertical": "vertical", "left-right (x)": "x", "front-back (y)": "y"}
MOVES = {"to the right": (1.0, 0.0, 0.0), "to the left": (-1.0, 0.0, 0.0), "toward the camera": (0.0, -1.0, 0.0),
         "away from the camera": (0.0, 1.0, 0.0)}
_IRREGULAR_PLURALS = {"person": "people", "man": "men", "woman": "women", "child": "children", "mouse": "mice",
                      "foot": "feet", "shelf": "shelves", "knife": "knives"}


def _plurals(label: str) -> set[str]:
    """English plurals a count question may use for a label (regular endings and the usual irregulars)."""
    head, _, last = label.rpartition(" ")
    head = head + " " if head else ""
    forms = {last + "s", last + "es"}
    if last.endswith("y"):
        forms.add(last[:-1] + "ies")
    if last in _IRREGULAR_PLURALS:
        forms = {_IRREGULAR_PLURALS[last]}
    return {head + f for f in forms}


def _alternation(name: str, words: Iterable[str]) -> str:
    return f"(?P<{name}>" + "|".join(map(re.escape, sorted(words, key=len, reverse=True))) + ")"


@dataclass(frozen=True)
class Form:
    task: str
    format: str
    pattern: re.Pattern
    meaning: Callable[[dict[str, str], list[str], Names], Ask]


FORMS: list[Form] = []


def form(task: str, formats: str, templates: Iterable[str], **words: Iterable[str]):
    """Register the meaning of a family of question templates. Templates are plain text with
    ``{slot}`` fields (objects, pixels, numbers, frames; or the word lists given as keywords)."""

    def register(meaning):
        for fmt in formats.split():
            for template in templates:
                parts = re.split(r"(\{\w+\})", template)
                regex = "".join(
                    (_alternation(p[1:-1], words[p[1:-1]]) if p[1:-1] in words else _SLOTS[p[1:-1]])
                    if p.startswith("{") else re.escape(p) for p in parts)
                FORMS.append(Form(task, fmt, re.compile(rf"\A{regex}\Z"), meaning))
        return meaning

    return register


def _oid(fields: dict[str, str], k: str) -> int:
    return int(fields[k])


def _items(fields: dict[str, str]) -> list[int]:
    return [int(x) for x in _MARKED.findall(fields["items"])]


def _meters(text: str) -> float:
    v = parse_length(text, default_unit=None)
    if v is None:
        raise ValueError(f"not a length: {text!r}")
    return v


def _unit_of(text: str) -> str:
    return _UNIT_OF_WORD[text.rsplit(" ", 1)[1]]


def _hint_unit(fields: dict[str, str]) -> str:
    return _UNIT_OF_WORD[fields["hint"]]


def _frame_kind(phrase: str) -> str | None:
    """'camera' (x right, y down, z forward) or 'gravity' (x right, y forward, z up) from the axes the
    phrase spells out; None when it names neither convention."""
    axes = re.search(r"\(x (?:right|to the right), y (down|downward|forward), z (forward|into the scene|"
                     r"pointing forward|up)\)", phrase)
    if not axes:
        return None
    if axes.group(1) in ("down", "downward") and axes.group(2) != "up" and "camera" in phrase and "gravity" not in phrase:
        return "camera"
    if axes.group(1) == "forward" and axes.group(2) == "up" and "gravity" in phrase:
        return "gravity"
    return None


def _view_kind(view: str) -> str:
    return "gravity" if ("gravity" in view or "vertical" in view) else "camera"


def _need_frame(ask: Ask, fields: dict[str, str], frame: str) -> Ask:
    got = _frame_kind(fields["frame"])
    if got != frame:
        raise Misphrased(f"the question names the {got or 'an unknown'} frame, not the {frame} frame")
    ask.frame = frame
    return ask


# ---------------------------------------------------------------------------------------------
# L0 geometry: pixels of the point map (camera frame)

def _near(claim: np.ndarray, truth: np.ndarray, judge: Judge) -> tuple[bool, str | None]:
    """Is a claimed position "about" the truth? truth: one point or candidate points (one per row)."""
    truths = np.atleast_2d(truth)
    if judge.exact:
        if any(judge.xyz_close(claim, t) for t in truths):
            return True, None
        far = all(judge.passes(float(np.linalg.norm(claim - t)), float(np.linalg.norm(t))) for t in truths)
        return False, None if far else "the claimed position is neither the shown truth nor clearly off"
    return any(judge.xyz_close(claim, t) for t in truths), None


def _xyz_claim(fields) -> np.ndarray:
    return np.array([float(v) for v in fields["xyz"].split(",")])


@form("point_3d", "free", [
    "What are the 3D coordinates of the point at pixel {px} {frame}? Answer in meters.",
    "Give the (x, y, z) position in meters of the surface point seen at pixel {px}, {frame}.",
    "Pixel {px} (normalized to a 0-1000 grid) shows a surface point. Where is it {frame}, in meters?"])
@form("point_3d", "choice", [
    "Which is the 3D position in meters of the point at pixel {px}, {frame}?",
    "Where is the surface point seen at pixel {px} (0-1000 grid), {frame}?",
    "Pick the (x, y, z) coordinates in meters of the point at pixel {px}, {frame}."])
def _point(f, options, names):
    ask = Ask("point_3d", "xyz", lambda s, j: (s.pixel_points(f["px"]), None), pixels=(f["px"],))
    return _need_frame(ask, f, "camera")


@form("point_3d", "boolean", [
    "Is the point at pixel {px} located at about {xyz} m {frame}?",
    "{frame}, is the surface point at pixel {px} approximately at {xyz} meters?",
    "Does the pixel {px} (0-1000 grid) show a point near {xyz} m {frame}?"])
def _point_claim(f, options, names):
    claim = _xyz_claim(f)
    ask = Ask("point_3d", "bool", lambda s, j: _near(claim, s.pixel_points(f["px"]), j), pixels=(f["px"],),
              relation="about")
    return _need_frame(ask, f, "camera")


def _pixel_range(scene: Scene, px: str) -> tuple[float, float]:
    d = np.linalg.norm(scene.pixel_points(px), axis=1)
    return float(d.min()), float(d.max())


def _pixels_order(scene: Scene, pixels: list[str], sign: int, judge: Judge) -> tuple[int, str | None]:
    """0-based position of the pixel closest (sign -1) or farthest (+1) from the camera, and doubt when
    it does not beat every other by the margin (a cell holding several pixels spans a distance range)."""
    ranges = [_pixel_range(scene, p) for p in pixels]
    key = [(-hi if sign > 0 else lo) for lo, hi in ranges]
    best = int(np.argmin(key))
    doubt = None
    for k, (lo, hi) in enumerate(ranges):
        if k == best:
            continue
        blo, bhi = ranges[best]
        gap, scale = (blo - hi, blo) if sign > 0 else (lo - bhi, lo)
        if gap <= 0 or not judge.passes(gap, scale):
            doubt = f"pixels {pixels[best]} and {pixels[k]} differ by less than the margin"
    return best, doubt


@form("depth_order", "free", [
    "Which point is {word} the camera: point 1 at pixel {p1} or point 2 at pixel {p2}? (Pixels on a 0-1000 grid, "
    "distances in the camera frame.)",
    "Two pixels are marked: point 1 at {p1} and point 2 at {p2}. Which of them is {word} the camera?",
    "Comparing the surface points at pixels {p1} (point 1) and {p2} (point 2), which one is {word} the camera?"],
    word=("closer to", "farther from"))
def _depth_pick(f, options, names):
    sign = 1 if f["word"] == "farther from" else -1
    pixels = [f["p1"], f["p2"]]

    def solve(s, j):
        best, doubt = _pixels_order(s, pixels, sign, j)
        return best + 1, doubt

    return Ask("depth_order", "point_index", solve, pixels=tuple(pixels), relation=f["word"])


@form("depth_order", "choice", [
    "Which of these pixels shows the point {word} the camera? (Pixels on a 0-1000 grid.)",
    "Among the marked pixels below, which one sees the surface {word} the camera?",
    "Of the following pixel locations, which has the point {word} the camera?"],
    word=("closest to", "farthest from"))
def _depth_choice(f, options, names):
    sign = 1 if f["word"] == "farthest from" else -1
    pixels = [_option_pixel(o) for o in options]

    def solve(s, j):
        best, doubt = _pixels_order(s, pixels, sign, j)
        return pixels[best], doubt

    return Ask("depth_order", "pixel", solve, pixels=tuple(pixels), relation=f["word"])


def _option_pixel(text: str) -> str:
    m = re.fullmatch(r"\[(\d+, \d+)\]", text)
    if not m:
        raise Misphrased(f"option {text!r} is not a pixel")
    return m.group(1)


@form("depth_order", "boolean", [
    "Is the point at pixel {p1} {word} the camera than the point at pixel {p2}?",
    "Looking at pixels {p1} and {p2} (0-1000 grid), is the first point {word} the camera than the second?",
    "Is the surface at pixel {p1} {word} the camera than the surface at pixel {p2}?"],
    word=("closer to", "farther from"))
def _depth_claim(f, options, names):
    sign = 1 if f["word"] == "farther from" else -1
    pixels = [f["p1"], f["p2"]]

    def solve(s, j):
        best, doubt = _pixels_order(s, pixels, sign, j)
        return best == 0, doubt

    return Ask("depth_order", "bool", solve, pixels=tuple(pixels), relation=f["word"])


# ---------------------------------------------------------------------------------------------
# L1 attributes

@form("object_location", "free", [
    "Where is {o} located {frame}? Give the (x, y, z) coordinates of its center in meters.",
    "What are the 3D coordinates of the center of {o}, {frame}, in meters?",
    "{frame}, where is the center of {o}? Answer as (x, y, z) in meters."])
@form("object_location", "choice", [
    "Which is the position of the center of {o} {frame}, in meters?",
    "Where is {o}? Pick its center coordinates {frame} (meters).",
    "{frame}, which (x, y, z) in meters is the center of {o}?"])
def _location(f, options, names):
    o = _oid(f, "o")
    return _need_frame(Ask("object_location", "xyz", lambda s, j: (s.c(o).copy(), None), named=(o,)), f, "gravity")


@form("object_location", "boolean", [
    "Is the center of {o} at about {xyz} m {frame}?",
    "{frame}, is {o} located near {xyz} meters?",
    "Is {o} centered approximately at {xyz} m, {frame}?"])
def _location_claim(f, options, names):
    o, claim = _oid(f, "o"), _xyz_claim(f)
    ask = Ask("object_location", "bool", lambda s, j: _near(claim, s.c(o), j), named=(o,), relation="about")
    return _need_frame(ask, f, "gravity")


def _facing(scene: Scene, o: int, judge: Judge) -> tuple[str, str | None]:
    deg = math.degrees(scene.front_of(o)) % 360.0
    k = int(math.floor(deg / 45.0 + 0.5)) % 8
    off = (deg - 45.0 * k + 180.0) % 360.0 - 180.0
    doubt = None
    if judge.exact and abs(off) > 22.5 - judge.config.angle_margin_deg + 1e-9:
        doubt = f"front yaw {deg:.1f}° is within {judge.config.angle_margin_deg}° of a sector boundary"
    return FACING[k], doubt


@form("object_orientation", "free", [
    "Which way is {o} facing, as seen from the camera?",
    "In which direction does the front of {o} point, relative to the camera's view (gravity-aligned frame)?",
    "Describe the facing direction of {o} from the camera's viewpoint."])
@form("object_orientation", "choice", [
    "Which way is {o} facing, as seen from the camera?",
    "Where does the front of {o} point, from the camera's point of view?",
    "Seen from the camera, {o} is facing:"])
def _orientation(f, options, names):
    o = _oid(f, "o")
    return Ask("object_orientation", "facing", lambda s, j: _facing(s, o, j), named=(o,))


@form("object_orientation", "boolean", [
    "Is {o} facing {facing}, as seen from the camera?",
    "From the camera's viewpoint, does the front of {o} point {facing}?",
    "Seen from the camera, is {o} oriented {facing}?"])
def _orientation_claim(f, options, names):
    o, claim = _oid(f, "o"), f["facing"]

    def solve(s, j):
        words, doubt = _facing(s, o, j)
        return words == claim, doubt

    return Ask("object_orientation", "bool", solve, named=(o,), relation=claim)


def _whole(scene: Scene, oids: Iterable[int], judge: Judge) -> str | None:
    if not judge.exact:
        return None
    bad = [o for o in oids if not scene.whole[scene.i(o)]]
    return f"the size of truncated or occluded object(s) {bad} is asked" if bad else None


_SIZE_STEMS = {
    "height": ("How tall is {o}?", "What is the height of {o}?", "How high is {o}, measured vertically?"),
    "width": ("How wide is {o}, side to side?", "What is the width of {o}?",
              "Measure the width of {o} from one side to the other."),
    "depth": ("How deep is {o}, front to back?", "What is the depth of {o}, from front to back?",
              "How far does {o} extend from front to back?"),
}


def _size_meaning(dim: str):
    def meaning(f, options, names):
        o = _oid(f, "o")
        return Ask("object_size", "length", lambda s, j: (s.size(o, dim), _whole(s, [o], j)), named=(o,),
                   unit=_hint_unit(f), extra={"dimension": dim}, relation=dim)

    return meaning


for _dim, _stems in _SIZE_STEMS.items():
    form("object_size", "free choice", [s + " (3D box in the gravity-aligned frame; answer {hint}.)" for s in _stems])(
        _size_meaning(_dim))


def _threshold(value: float, threshold: float, sign: int, judge: Judge) -> tuple[bool, str | None]:
    """Is value more (sign +1) or less (-1) than threshold?"""
    doubt = None if judge.passes(value - threshold, max(value, threshold)) else (
        f"{value:.3f} m and {threshold:.3f} m differ by less than the margin")
    return (value > threshold) if sign > 0 else (value < threshold), doubt


@form("object_size", "boolean", [
    "Is {o} {cmp} {t}? (3D box in the gravity-aligned frame.)",
    "Would you say {o} is {cmp} {t}? (3D box in the gravity-aligned frame.)"], cmp=SIZE_COMPARATIVE)
def _size_claim(f, options, names):
    o, t = _oid(f, "o"), _meters(f["t"])
    dim, sign = SIZE_COMPARATIVE[f["cmp"]]

    def solve(s, j):
        answer, doubt = _threshold(s.size(o, dim), t, sign, j)
        return answer, doubt or _whole(s, [o], j)

    return Ask("object_size", "bool", solve, named=(o,), relation=f["cmp"])


@form("object_size", "boolean", ["Is the {dim} of {o} {cmp} {t}? (3D box in the gravity-aligned frame.)"],
      dim=("height", "width", "depth"), cmp=MORE_LESS)
def _size_claim_named(f, options, names):
    o, t, dim, sign = _oid(f, "o"), _meters(f["t"]), f["dim"], MORE_LESS[f["cmp"]]

    def solve(s, j):
        answer, doubt = _threshold(s.size(o, dim), t, sign, j)
        return answer, doubt or _whole(s, [o], j)

    return Ask("object_size", "bool", solve, named=(o,), relation=f"{dim} {f['cmp']}")


# ---------------------------------------------------------------------------------------------
# L2 relations between object centers (gravity frame)

def _side(scene: Scene, b: int, a: int, axis: int, judge: Judge) -> tuple[int, str | None]:
    """Sign of b's offset from a along an axis, with doubt when it is under the margin."""
    d = scene.c(b) - scene.c(a)
    doubt = None if judge.passes(d[axis], float(np.linalg.norm(d))) else (
        f"offset {d[axis]:.3f} m along {'xyz'[axis]} is under the margin")
    return (1 if d[axis] > 0 else -1), doubt


def _view_must_fit(view: str, axis: int) -> None:
    want = "gravity" if axis == 2 else "camera"
    if _view_kind(view) != want:
        raise Misphrased(f"a relation along {'xyz'[axis]} is phrased in the {_view_kind(view)} view")


@form("direction", "free", [
    "Is {b} {choices} {a}, {view}?", "{view}, is {b} located {choices} {a}?",
    "Relative to {a}, is {b} {choices} it, {view}?"], choices=AXIS_CHOICE)
def _axis(f, options, names):
    a, b, axis = _oid(f, "a"), _oid(f, "b"), AXIS_CHOICE[f["choices"]]
    _view_must_fit(f["view"], axis)

    def solve(s, j):
        sign, doubt = _side(s, b, a, axis, j)
        return AXIS_WORDS[axis][sign > 0], doubt

    return Ask("direction", "side", solve, named=(a, b), relation=f["choices"])


@form("direction", "boolean", [
    "Is {b} {rel} {a}, {view}?", "{view}, is {b} {rel} {a}?", "Would you say {b} is {rel} {a}, {view}?"], rel=REL)
def _axis_claim(f, options, names):
    a, b = _oid(f, "a"), _oid(f, "b")
    axis, want = REL[f["rel"]]
    _view_must_fit(f["view"], axis)

    def solve(s, j):
        sign, doubt = _side(s, b, a, axis, j)
        return sign == want, doubt

    return Ask("direction", "bool", solve, named=(a, b), relation=f["rel"])


def _clock(scene: Scene, b: int, a: int, judge: Judge) -> tuple[int, str | None]:
    """Clock hour of b seen from a: 12 straight ahead (+y), clockwise toward +x (3 = right)."""
    d = scene.c(b) - scene.c(a)
    ang = math.degrees(math.atan2(d[0], d[1])) % 360.0
    h = int(math.floor(ang / 30.0 + 0.5)) % 12
    doubt = None
    if judge.exact:
        off = abs((ang - 30.0 * h + 180.0) % 360.0 - 180.0)
        if off > 15.0 - judge.config.angle_margin_deg + 1e-9:
            doubt = f"direction {ang:.1f}° is within {judge.config.angle_margin_deg}° of a half hour"
        elif math.hypot(d[0], d[1]) < 2 * judge.config.margin_abs_m - _EPS:
            doubt = "the two objects are too close horizontally for a clock direction"
    return h or 12, doubt


@form("direction", "free choice", [
    "Standing at {a} and facing the camera's forward direction (12 o'clock = straight ahead, gravity-aligned "
    "frame), at what clock position is {b}?",
    "If 12 o'clock points straight ahead along the camera's horizontal forward direction, in which clock direction "
    "is {b} from {a}?",
    "Using clock directions in the gravity-aligned horizontal plane (12 o'clock = away from the camera), where is "
    "{b} as seen from {a}?"])
def _clock_ask(f, options, names):
    a, b = _oid(f, "a"), _oid(f, "b")
    return Ask("direction", "clock", lambda s, j: _clock(s, b, a, j), named=(a, b), relation="clock")


def _quadrant(fwd: float, right: float) -> str:
    return f"{'in front' if fwd > 0 else 'behind'} and to the {'right' if right > 0 else 'left'}"


@form("direction", "choice", [
    "Where is {b} relative to {a}, {view}?", "{view}, how is {b} positioned with respect to {a}?",
    "Relative to {a}, {b} is located ({view}):"])
def _quadrant_ask(f, options, names):
    a, b = _oid(f, "a"), _oid(f, "b")
    _view_must_fit(f["view"], 1)

    def solve(s, j):
        sx, dx = _side(s, b, a, 0, j)
        sy, dy = _side(s, b, a, 1, j)
        return _quadrant(-sy, sx), dx or dy  # in front = nearer the camera = negative y

    return Ask("direction", "quadrant", solve, named=(a, b), relation="quadrant")


_VECTOR_STEMS = [
    "What is the 3D displacement vector from {a} to {b} {frame}, in meters?",
    "Give the vector (dx, dy, dz) in meters from the center of {a} to the center of {b}, {frame}.",
    "{frame}, what offset in meters takes you from {a} to {b}?"]


def _long_enough(value: float, judge: Judge, what: str) -> str | None:
    if judge.exact and value < judge.config.min_length_m - _EPS:
        return f"{what} {value:.3f} m is below the {judge.config.min_length_m} m asked about"
    return None


@form("direction_vector", "free choice", _VECTOR_STEMS)
def _vector(f, options, names):
    a, b = _oid(f, "a"), _oid(f, "b")

    def solve(s, j):
        v = s.c(b) - s.c(a)
        return v, _long_enough(float(np.linalg.norm(v)), j, "the vector's length")

    return _need_frame(Ask("direction_vector", "xyz", solve, named=(a, b)), f, "gravity")


@form("direction_vector", "boolean", [
    "Is the vector from {a} to {b} approximately {xyz} m {frame}?",
    "{frame}, does going from {a} to {b} take an offset of about {xyz} meters?",
    "Is {b} displaced from {a} by roughly {xyz} m, {frame}?"])
def _vector_claim(f, options, names):
    a, b, claim = _oid(f, "a"), _oid(f, "b"), _xyz_claim(f)
    return _need_frame(Ask("direction_vector", "bool", lambda s, j: _near(claim, s.c(b) - s.c(a), j), named=(a, b),
                           relation="about"), f, "gravity")


_DISTANCE_SUFFIX = " (center to center, in 3D, gravity-aligned frame; answer {hint}.)"
_CENTERS = " (Centers, gravity-aligned frame.)"


@form("distance", "free choice", [s + _DISTANCE_SUFFIX for s in (
    "How far is {a} from {b}?", "What is the distance between {a} and {b}?",
    "How far apart are the centers of {a} and {b}?")])
def _distance(f, options, names):
    a, b = _oid(f, "a"), _oid(f, "b")

    def solve(s, j):
        d = s.dist(a, b)
        return d, _long_enough(d, j, "the distance")

    return Ask("distance", "length", solve, named=(a, b), unit=_hint_unit(f))


def _distance_claim(sign: int | None):
    def meaning(f, options, names):
        a, b, t = _oid(f, "a"), _oid(f, "b"), _meters(f["t"])
        s_ = sign if sign is not None else MORE_LESS[f["cmp"]]
        return Ask("distance", "bool", lambda s, j: _threshold(s.dist(a, b), t, s_, j), named=(a, b),
                   relation="more than" if s_ > 0 else "less than")

    return meaning


form("distance", "boolean", [s + _CENTERS for s in (
    "Are {a} and {b} {cmp} {t} apart?", "Is the distance between {a} and {b} {cmp} {t}?")], cmp=MORE_LESS)(
    _distance_claim(None))
form("distance", "boolean", ["Is {a} farther than {t} from {b}?" + _CENTERS])(_distance_claim(1))
form("distance", "boolean", ["Is {a} within {t} of {b}?" + _CENTERS])(_distance_claim(-1))


def _component(scene: Scene, a: int, b: int, name: str) -> float:
    d = scene.c(b) - scene.c(a)
    return float({"horizontal": math.hypot(d[0], d[1]), "vertical": abs(d[2]), "x": abs(d[0]), "y": abs(d[1])}[name])


_COMPONENT_STEMS = {
    "horizontal": ("What is the horizontal distance between {a} and {b}?",
                   "How far apart are {a} and {b} horizontally, ignoring height?",
                   "Along the floor plane, how far is {a} from {b}?"),
    "vertical": ("What is the vertical distance between {a} and {b}?",
                 "How far apart are {a} and {b} along the up axis?",
                 "What is the height difference between the centers of {a} and {b}?"),
    "x": ("How far apart are {a} and {b} along the left-right (x) axis?",
          "What is the left-right distance between {a} and {b}?",
          "Along x (to the right), how far is {a} from {b}?"),
    "y": ("How far apart are {a} and {b} along the forward (y) axis?",
          "What is the front-back distance between {a} and {b}?",
          "Along y (the camera's horizontal forward direction), how far is {a} from {b}?"),
}


def _component_meaning(name: str):
    def meaning(f, options, names):
        a, b = _oid(f, "a"), _oid(f, "b")

        def solve(s, j):
            v = _component(s, a, b, name)
            return v, _long_enough(v, j, f"the {name} component")

        return Ask("distance_component", "length", solve, named=(a, b), unit=_hint_unit(f),
                   extra={"component": name}, relation=name)

    return meaning


for _name, _stems in _COMPONENT_STEMS.items():
    form("distance_component", "free choice",
         [s + " (box centers, gravity-aligned frame; answer {hint}.)" for s in _stems])(_component_meaning(_name))


@form("distance_component", "boolean", [s + _CENTERS for s in (
    "Is the {name} distance between {a} and {b} {cmp} {t}?", "Measured {name}, are {a} and {b} {cmp} {t} apart?",
    "Is {a} {cmp} {t} from {b} in the {name} direction?")], name=COMPONENT_NAMES, cmp=MORE_LESS)
def _component_claim(f, options, names):
    a, b, t, name, sign = _oid(f, "a"), _oid(f, "b"), _meters(f["t"]), COMPONENT_NAMES[f["name"]], MORE_LESS[f["cmp"]]
    return Ask("distance_component", "bool", lambda s, j: _threshold(_component(s, a, b, name), t, sign, j),
               named=(a, b), relation=f"{name} {f['cmp']}")


def _quantity(scene: Scene, key: str, oid: int) -> float:
    if key == "cam_dist":
        return scene.cam_dist(oid)
    if key.startswith("dist:"):
        return scene.dist(oid, int(key[5:]))
    return scene.size(oid, key)


def _differ(scene: Scene, key: str, x: float, y: float, judge: Judge) -> bool:
    """Do two values of a quantity differ enough to be compared? (volumes by ratio, the rest by margin)"""
    if key == "volume":
        lo, hi = min(x, y), max(x, y)
        return hi >= judge.config.volume_ratio * lo - _EPS and hi > lo
    return judge.passes(x - y, max(x, y))


def _extreme(scene: Scene, key: str, sign: int, oids: list[int], judge: Judge) -> tuple[int, str | None]:
    """The object with the largest (sign +1) or smallest value; doubt when the runner-up is too close
    or a size is asked of a truncated or occluded object."""
    vals = [_quantity(scene, key, o) for o in oids]
    order = sorted(range(len(oids)), key=lambda k: -sign * vals[k])
    win = oids[order[0]]
    doubt = None
    if judge.exact:
        if not _differ(scene, key, vals[order[0]], vals[order[1]], judge):
            doubt = f"{key} of {oids[order[0]]} and {oids[order[1]]} differ by less than the margin"
        if key in ("height", "width", "volume"):
            doubt = doubt or _whole(scene, oids, judge)
    return win, doubt


def _comparative(word: str, c: int | None) -> tuple[str, int]:
    if c is not None:
        return f"dist:{c}", (1 if word.startswith("farther") else -1)
    return PROPERTY[word]


_CMP_SUFFIX = {"size": " (3D boxes in the gravity-aligned frame.)", "dist": " (3D center distances in the gravity-aligned frame.)"}
_SIZE_WORDS = ("taller", "shorter", "wider", "narrower", "bigger", "smaller")
_CAM_WORDS = ("farther from the camera", "closer to the camera")


def _compare_forms(fmt: str, stems: list[str]):
    def register(meaning):
        for suffix, words, third in ((_CMP_SUFFIX["size"], _SIZE_WORDS, ""), (_CMP_SUFFIX["dist"], _CAM_WORDS, ""),
                                     (_CMP_SUFFIX["dist"], ("farther from", "closer to"), " {c}")):
            form("compare", fmt, [s.replace("{word}", "{word}" + third) + suffix for s in stems], word=words)(meaning)
        return meaning

    return register


@_compare_forms("free", ["Which is {word}: {a} or {b}?", "Between {a} and {b}, which one is {word}?",
                         "Of {a} and {b}, which is {word}?"])
def _compare_pick(f, options, names):
    a, b = _oid(f, "a"), _oid(f, "b")
    c = _oid(f, "c") if "c" in f else None
    key, sign = _comparative(f["word"], c)
    return Ask("compare", "pick", lambda s, j: _extreme(s, key, sign, [a, b], j),
               named=(a, b) + ((c,) if c is not None else ()), positions=lambda s: [a, b], relation=f["word"])


@_compare_forms("choice", ["Which of these is {word}?", "Which one is {word}?", "Pick the object that is {word}."])
def _compare_choice(f, options, names):
    opts = _option_objects(options, names)
    c = _oid(f, "c") if "c" in f else None
    key, sign = _comparative(f["word"], c)
    return Ask("compare", "pick", lambda s, j: _extreme(s, key, sign, opts, j),
               named=tuple(opts) + ((c,) if c is not None else ()), relation=f["word"])


def _option_objects(options: list[str], names: Names) -> list[int]:
    oids = [names.object_of(o) for o in options]
    if None in oids or len(set(oids)) != len(oids):
        raise Misphrased(f"options {options} do not each name one distinct object")
    return oids


def _compare_claim(f, options, names):
    a, b = _oid(f, "a"), _oid(f, "b")
    c = _oid(f, "c") if "c" in f else None
    key, sign = _comparative(f["word"], c)

    def solve(s, j):
        win, doubt = _extreme(s, key, sign, [a, b], j)
        return win == a, doubt

    return Ask("compare", "bool", solve, named=(a, b) + ((c,) if c is not None else ()), relation=f["word"])


for _suffix, _words in ((_CMP_SUFFIX["size"], _SIZE_WORDS), (_CMP_SUFFIX["dist"], _CAM_WORDS)):
    form("compare", "boolean", [s + _suffix for s in ("Is {a} {word} than {b}?", "Would you say {a} is {word} than {b}?",
                                                      "Compared with {b}, is {a} {word}?")], word=_words)(_compare_claim)
form("compare", "boolean", [s + _CMP_SUFFIX["dist"] for s in (
    "Is {a} {word} {c} than {b} is?", "Would you say {a} is {word} {c} than {b} is?",
    "Compared with {b}, is {a} {word} {c}?")], word=("farther from", "closer to"))(_compare_claim)


_SIZE_KEYS = ("height", "width", "volume")


def _rank_suffix_ok(key: str, suffix_kind: str) -> bool:
    return (key == "cam_dist") == (suffix_kind == "dist")


def _rank_forms(fmt: str, stems: list[str], slot: str, table: dict):
    def register(meaning):
        for kind in ("size", "dist"):
            words = [w for w, (key, _) in table.items() if _rank_suffix_ok(key, kind)]
            form("rank", fmt, [s + _CMP_SUFFIX[kind] for s in stems], **{slot: words})(meaning)
        return meaning

    return register


@_rank_forms("free", ["Order {items} {words}.", "Sort these objects {words}: {items}.", "List {items} {words}."],
             "words", ORDERING)
def _rank_order(f, options, names):
    items = _items(f)
    key, sign = ORDERING[f["words"]]

    def solve(s, j):
        vals = [_quantity(s, key, o) for o in items]
        order = sorted(range(len(items)), key=lambda k: sign * vals[k])
        doubt = None
        if j.exact:
            for p, q in zip(order, order[1:]):
                if not _differ(s, key, vals[p], vals[q], j):
                    doubt = f"{key} of {items[p]} and {items[q]} differ by less than the margin"
            if key in _SIZE_KEYS:
                doubt = doubt or _whole(s, items, j)
        return [items[k] for k in order], doubt

    return Ask("rank", "order", solve, named=tuple(items), relation=f["words"])


@_rank_forms("free", ["Among {items}, which is the {sup}?", "Which of {items} is the {sup}?",
                      "Of {items}, which one is the {sup}?"], "sup", SUPERLATIVE)
def _rank_pick(f, options, names):
    items = _items(f)
    key, sign = SUPERLATIVE[f["sup"]]
    return Ask("rank", "pick", lambda s, j: _extreme(s, key, sign, items, j), named=tuple(items),
               positions=lambda s: items, relation=f["sup"])


@_rank_forms("choice", ["Which of these objects is the {sup}?", "Which one is the {sup}?", "Pick the {sup} object."],
             "sup", SUPERLATIVE)
def _rank_choice(f, options, names):
    opts = _option_objects(options, names)
    key, sign = SUPERLATIVE[f["sup"]]
    return Ask("rank", "pick", lambda s, j: _extreme(s, key, sign, opts, j), named=tuple(opts), relation=f["sup"])


@_rank_forms("boolean", ["Is {x} the {sup} among {items}?", "Of {items}, is {x} the {sup}?",
                         "Among {items}, would {x} be the {sup}?"], "sup", SUPERLATIVE)
def _rank_claim(f, options, names):
    items, x = _items(f), _oid(f, "x")
    key, sign = SUPERLATIVE[f["sup"]]
    if x not in items:
        raise Misphrased("the object asked about is not among the listed ones")

    def solve(s, j):
        win, doubt = _extreme(s, key, sign, items, j)
        return win == x, doubt

    return Ask("rank", "bool", solve, named=tuple(items), relation=f["sup"])


# ---------------------------------------------------------------------------------------------
# L3 reasoning

_OWN_FRAME = " (Its own frame: gravity-aligned, facing its front.)"


def _own_side(scene: Scene, x: int, o: int, axis: str, judge: Judge) -> tuple[int, str | None]:
    """Where x is for o standing at its center facing its front: +1 right / in front, -1 left / behind."""
    f = scene.front_of(o)
    d = scene.c(x) - scene.c(o)
    comp = d[0] * math.sin(f) - d[1] * math.cos(f) if axis == "lr" else d[0] * math.cos(f) + d[1] * math.sin(f)
    doubt = None if judge.passes(comp, float(np.linalg.norm(d))) else f"offset {comp:.3f} m in {o}'s frame is under the margin"
    return (1 if comp > 0 else -1), doubt


_PERSPECTIVE_STEMS = ("From the viewpoint of {o}, facing the way it faces, is {x} ",
                      "Imagine you are {o}, looking where its front points. Is {x} ",
                      "Taking the perspective of {o} (facing its front), is {x} ")


@form("perspective", "free", [s + e + "?" + _OWN_FRAME for s, e in zip(
    _PERSPECTIVE_STEMS, ("on its left or on its right", "to your left or to your right", "on the left or on the right"))])
def _perspective_lr(f, options, names):
    return _perspective_side(f, "lr")


@form("perspective", "free", [s + e + "?" + _OWN_FRAME for s, e in zip(
    _PERSPECTIVE_STEMS, ("in front of it or behind it", "in front of you or behind you", "ahead or behind"))])
def _perspective_fb(f, options, names):
    return _perspective_side(f, "fb")


def _perspective_side(f, axis: str) -> Ask:
    o, x = _oid(f, "o"), _oid(f, "x")

    def solve(s, j):
        sign, doubt = _own_side(s, x, o, axis, j)
        return ({"lr": ("left", "right"), "fb": ("behind", "in front")}[axis][sign > 0]), doubt

    return Ask("perspective", "side", solve, named=(o, x), relation=axis)


@form("perspective", "choice", [s + _OWN_FRAME for s in (
    "From the viewpoint of {o}, facing its front, where is {x}?",
    "Imagine you are {o}, looking where its front points. Where is {x}?",
    "Taking the perspective of {o} (facing its front), {x} is:")])
def _perspective_quadrant(f, options, names):
    o, x = _oid(f, "o"), _oid(f, "x")

    def solve(s, j):
        lr, d1 = _own_side(s, x, o, "lr", j)
        fb, d2 = _own_side(s, x, o, "fb", j)
        return _quadrant(fb, lr), d1 or d2

    return Ask("perspective", "quadrant", solve, named=(o, x), relation="quadrant")


@form("perspective", "boolean", [s + "{phrase}?" + _OWN_FRAME for s in _PERSPECTIVE_STEMS], phrase=PERSP)
def _perspective_claim(f, options, names):
    o, x = _oid(f, "o"), _oid(f, "x")
    axis, want = PERSP[f["phrase"]]

    def solve(s, j):
        sign, doubt = _own_side(s, x, o, axis, j)
        return sign == want, doubt

    return Ask("perspective", "bool", solve, named=(o, x), relation=f["phrase"])


_COUNT_REL = {"to the left of": (0, -1), "to the right of": (0, 1), "in front of": (1, -1), "behind": (1, 1)}
_WITHIN_SUFFIX = " (3D center-to-center distances, gravity-aligned frame.)"


def _count(scene: Scene, things: str, a: int, test: str, param: Any, judge: Judge) -> tuple[int, str | None]:
    """How many objects of the label ``things`` names, other than a, pass the test; doubt when any
    candidate sits within the margin of the test's boundary."""
    label = _label_of(scene, things, a)
    members = _members(scene, label, a)
    n, doubt = 0, None
    ca = scene.c(a)
    for m in members:
        d = scene.c(m) - ca
        dist = float(np.linalg.norm(d))
        if test == "within":
            n += dist < param
            ok = judge.passes(dist - param, max(dist, param))
        else:
            axis, sign = param
            n += sign * d[axis] > 0
            ok = judge.passes(d[axis], dist)
        if not ok and doubt is None:
            doubt = f"object {m} sits within the margin of the count's boundary"
    return int(n), doubt


def _label_of(scene: Scene, things: str, a: int) -> str:
    other = things.startswith("other ")
    plural = things[6:] if other else things
    labels = [lab for lab in dict.fromkeys(scene.labels) if plural in _plurals(lab)]
    if len(labels) != 1:
        raise Unanswerable(f"{plural!r} names {len(labels)} labels of the scene")
    label = labels[0]
    if other != (scene.labels[scene.i(a)] == label):
        raise Unanswerable(f"{things!r} {'says' if other else 'omits'} 'other' for the anchor's own label")
    return label


def _members(scene: Scene, label: str, a: int) -> list[int]:
    return [oid for oid, lab in zip(scene.ids, scene.labels) if lab == label and oid != a]


def _count_meaning(test: str, claim: bool):
    def meaning(f, options, names):
        a = _oid(f, "a")
        param = _meters(f["r"]) if test == "within" else _COUNT_REL[f["rel"]]
        if test == "rel":
            _view_must_fit(f["view"], param[0])

        def solve(s, j):
            n, doubt = _count(s, f["things"], a, test, param, j)
            return (n == int(f["k"]) if claim else n), doubt

        return Ask("count_constrained", "bool" if claim else "count", solve, named=(a,),
                   refers=lambda s, _t: set(_members(s, _label_of(s, f["things"], a), a)),
                   relation=f"{test} {f.get('r') or f.get('rel')}")

    return meaning


form("count_constrained", "free choice", [s + _WITHIN_SUFFIX for s in (
    "How many {things} are within {r} of {a}?", "Count the {things} less than {r} away from {a}.",
    "Within {r} of {a}, how many {things} are there?")])(_count_meaning("within", False))
form("count_constrained", "free choice", [
    "How many {things} are {rel} {a}, {view}?", "Count the {things} located {rel} {a}, {view}.",
    "{view}, how many {things} are {rel} {a}?"], rel=_COUNT_REL)(_count_meaning("rel", False))
form("count_constrained", "boolean", [s + _WITHIN_SUFFIX for s in (
    "Are there exactly {k} {things} within {r} of {a}?", "Is the number of {things} within {r} of {a} exactly {k}?",
    "Within {r} of {a}, are there exactly {k} {things}?")])(_count_meaning("within", True))
form("count_constrained", "boolean", [
    "Are there exactly {k} {things} {rel} {a}, {view}?", "Is the number of {things} {rel} {a} exactly {k}, {view}?",
    "{view}, are there exactly {k} {things} {rel} {a}?"], rel=_COUNT_REL)(_count_meaning("rel", True))


# multi-step problems: footprint gaps and moved objects

_FOOTPRINTS = " (Footprints of the 3D boxes on the horizontal plane of the gravity-aligned frame.)"
_MOVE_NOTE = " (Directions as seen from the camera in the gravity-aligned frame; center-to-center distances.)"


def _footprint(scene: Scene, oid: int) -> float:
    """An object's narrowest horizontal side (it fits sideways through a gap wider than this)."""
    w, d, _ = scene.whd[scene.i(oid)]
    return float(min(w, d))


@form("multi_step", "boolean", [s + _FOOTPRINTS for s in (
    "Could {x} fit in the gap between {y} and {z}, turned to its narrowest side?",
    "Is there enough room between {y} and {z} to slide {x} through, narrow side first?",
    "Would {x} fit between {y} and {z} if turned sideways?")])
def _fits(f, options, names):
    x, y, z = _oid(f, "x"), _oid(f, "y"), _oid(f, "z")

    def solve(s, j):
        answer, doubt = _threshold(s.gap(y, z), _footprint(s, x), 1, j)
        return answer, doubt or _whole(s, [x], j)

    return Ask("multi_step", "bool", solve, named=(x, y, z), relation="fits")


@form("multi_step", "boolean", [s + _FOOTPRINTS for s in (
    "Would a box {w} wide fit through the gap between {y} and {z}?",
    "Is the free space between {y} and {z} wider than {w}?",
    "Could an object {w} across pass between {y} and {z}?")])
def _fits_width(f, options, names):
    y, z, w = _oid(f, "y"), _oid(f, "z"), _meters(f["w"])
    return Ask("multi_step", "bool", lambda s, j: _threshold(s.gap(y, z), w, 1, j), named=(y, z),
               relation="fits width")


@form("multi_step", "free choice", [
    "If {x} were placed between {y} and {z}, narrow side first, how much free space would remain? Answer {hint}."
    + _FOOTPRINTS,
    "How much room would be left in the gap between {y} and {z} after putting {x} there sideways? Answer {hint}."
    + _FOOTPRINTS,
    "Suppose {x} is slid, narrowest side first, into the gap between {y} and {z}. How much clearance is left in "
    "total? Answer {hint}." + _FOOTPRINTS])
def _room(f, options, names):
    x, y, z = _oid(f, "x"), _oid(f, "y"), _oid(f, "z")

    def solve(s, j):
        v = s.gap(y, z) - _footprint(s, x)
        return v, _long_enough(v, j, "the room left") or _whole(s, [x], j)

    return Ask("multi_step", "length", solve, named=(x, y, z), unit=_hint_unit(f), relation="room")


def _moved(scene: Scene, x: int, move: tuple[str, float]) -> np.ndarray:
    return scene.c(x) + move[1] * np.asarray(MOVES[move[0]])


def _move(f) -> tuple[str, float]:
    return f["dirn"], _meters(f["amt"])


_MOVE_STEMS = ("If {x} moved {amt} {dirn}, ", "Suppose {x} is shifted {amt} {dirn}. ", "After moving {x} {amt} {dirn}, ")


@form("multi_step", "boolean", [s + e + _MOVE_NOTE for s, e in zip(_MOVE_STEMS, (
    "would it be {cmp} {t} from {y}?", "Would it then be {cmp} {t} away from {y}?",
    "would its distance to {y} be {cmp} {t}?"))], cmp=MORE_LESS)
def _moved_distance_claim(f, options, names):
    x, y, t, move, sign = _oid(f, "x"), _oid(f, "y"), _meters(f["t"]), _move(f), MORE_LESS[f["cmp"]]

    def solve(s, j):
        d = float(np.linalg.norm(s.c(y) - _moved(s, x, move)))
        answer, doubt = _threshold(d, t, sign, j)
        return answer, doubt or _long_enough(d, j, "the distance")

    return Ask("multi_step", "bool", solve, named=(x, y), move=move, relation=f["cmp"])


@form("multi_step", "boolean", [s + e + _MOVE_NOTE for s, e in zip(_MOVE_STEMS, (
    "would it be closer to {y} than to {z}?", "Would it then be nearer to {y} than to {z}?",
    "is {y} closer to it than {z}?"))])
def _moved_closer(f, options, names):
    x, y, z, move = _oid(f, "x"), _oid(f, "y"), _oid(f, "z"), _move(f)

    def solve(s, j):
        p = _moved(s, x, move)
        dy, dz = float(np.linalg.norm(s.c(y) - p)), float(np.linalg.norm(s.c(z) - p))
        doubt = None if j.passes(dy - dz, max(dy, dz)) else "the two distances differ by less than the margin"
        return dy < dz, doubt

    return Ask("multi_step", "bool", solve, named=(x, y, z), move=move, relation="closer")


@form("multi_step", "free choice", [s + e + _MOVE_NOTE + " Answer {hint}." for s, e in zip(_MOVE_STEMS, (
    "how far would it be from {y}?", "What would its distance to {y} be?", "how far apart would it and {y} be?"))])
def _moved_distance(f, options, names):
    x, y, move = _oid(f, "x"), _oid(f, "y"), _move(f)

    def solve(s, j):
        d = float(np.linalg.norm(s.c(y) - _moved(s, x, move)))
        return d, _long_enough(d, j, "the distance")

    return Ask("multi_step", "length", solve, named=(x, y), unit=_hint_unit(f), move=move, relation="distance")


def _nearest(scene: Scene, x: int, move, candidates: list[int], judge: Judge) -> tuple[int, str | None]:
    p = _moved(scene, x, move)
    d = [float(np.linalg.norm(scene.c(c) - p)) for c in candidates]
    order = sorted(range(len(candidates)), key=d.__getitem__)
    doubt = None
    if judge.exact and not judge.passes(d[order[1]] - d[order[0]], d[order[1]]):
        doubt = "the nearest and the runner-up differ by less than the margin"
    return candidates[order[0]], doubt


def _others(scene: Scene, x: int) -> list[int]:
    return [o for o in scene.ids if o != x]


@form("multi_step", "free", [s + e + _MOVE_NOTE for s, e in zip(_MOVE_STEMS, (
    "which object would be nearest to it?", "Which object would then be closest to it?",
    "what would be the nearest object to it?"))])
def _moved_nearest(f, options, names):
    x, move = _oid(f, "x"), _move(f)
    return Ask("multi_step", "pick", lambda s, j: _nearest(s, x, move, _others(s, x), j), named=(x,), move=move,
               positions=lambda s: _others(s, x), refers=lambda s, win: {win}, relation="nearest")


@form("multi_step", "choice", [s + e + _MOVE_NOTE for s, e in zip(_MOVE_STEMS, (
    "which of these would be nearest to it?", "Which of these objects would then be closest to it?",
    "which of the following would be nearest to it?"))])
def _moved_nearest_choice(f, options, names):
    x, move = _oid(f, "x"), _move(f)
    opts = _option_objects(options, names)
    if x in opts:
        raise Misphrased("the moved object is among the options")
    return Ask("multi_step", "pick", lambda s, j: _nearest(s, x, move, opts, j), named=(x, *opts), move=move,
               relation="nearest")


# ---------------------------------------------------------------------------------------------
# Reading and checking rows

_OPTION = re.compile(r"([A-D])\. (.*)")
_FORMS_BY_FORMAT: dict[str, list[Form]] = {}
for _f in FORMS:
    _FORMS_BY_FORMAT.setdefault("choice" if _f.format == "choice" else "plain", []).append(_f)


def split_options(question: str) -> tuple[str, list[str]] | None:
    """(stem, option texts) of a question; None when its option lines are malformed."""
    stem, *lines = question.split("\n")
    options = []
    for k, line in enumerate(lines):
        m = _OPTION.fullmatch(line)
        if not m or m.group(1) != LETTERS[k]:
            return None
        options.append(m.group(2))
    return stem, options


def read_question(question: str, names: Names) -> Reading | None:
    """What a question asks, or None when its text does not read as any question form."""
    parts = split_options(question)
    if parts is None:
        return None
    stem, options = parts
    marked = names.mark(stem)
    for f in _FORMS_BY_FORMAT["choice" if options else "plain"]:
        m = f.pattern.match(marked)
        if m is None:
            continue
        fields = {k: v for k, v in m.groupdict().items() if v is not None}
        ask = f.meaning(fields, options, names)
        return Reading(f.task, f.format, ask, options)
    return None


def matching_forms(question: str, names: Names) -> list[Form]:
    """Every form a question's text matches (a well-formed language matches exactly one)."""
    parts = split_options(question)
    if parts is None:
        return []
    stem, options = parts
    marked = names.mark(stem)
    return [f for f in _FORMS_BY_FORMAT["choice" if options else "plain"] if f.pattern.match(marked)]


@dataclass
class Verdict:
    read: bool
    reason: str | None = None  # None: the row holds


def check_row(row: dict, names: Names, scene: Scene, judge: Judge) -> Verdict:
    """Read one row (schema.QA) and check every field against the scene."""
    try:
        reading = read_question(row["question"], names)
    except Misphrased as e:
        return Verdict(True, f"misphrased: {e}")
    except (ValueError, KeyError) as e:
        return Verdict(False, f"unread: {e}")
    if reading is None:
        return Verdict(False, "unread: the text reads as no question form")
    try:
        return Verdict(True, _check(row, reading, names, scene, judge))
    except Unanswerable as e:
        return Verdict(True, f"unanswerable: {e}")
    except (ValueError, KeyError, TypeError, json.JSONDecodeError) as e:
        return Verdict(True, f"malformed: {type(e).__name__}: {e}")


def _check(row: dict, reading: Reading, names: Names, scene: Scene, judge: Judge) -> str | None:
    ask = reading.ask
    if judge.exact:
        if reading.task != row["task"] or reading.format != row["format"]:
            return f"reads as {reading.task}/{reading.format}, labelled {row['task']}/{row['format']}"
        if TASK_LEVEL[reading.task] != row["level"]:
            return f"level {row['level']} for a level-{TASK_LEVEL[reading.task]} task"
    truth, doubt = ask.solve(scene, judge)
    av = json.loads(row["answer_value"])
    if not isinstance(av, dict):
        return "answer_value is not a JSON object"
    if reading.format == "boolean":
        why = _check_bool(row["answer"], av, truth)
    elif reading.format == "choice":
        why = _check_choice(row["answer"], av, truth, reading, names, judge)
    else:
        why = _check_free(row["answer"], av, truth, ask, names, scene, judge)
    if why or not judge.exact:
        return why
    if doubt:
        return f"ambiguous: {doubt}"
    want = ask.object_ids(scene, truth)
    got = list(row["object_ids"] or [])
    if len(set(got)) != len(got) or set(got) != want:
        return f"object_ids {sorted(got)} != objects the question refers to {sorted(want)}"
    return None


def _keys(av: dict, required: set[str]) -> str | None:
    if set(av) != required:
        return f"answer_value keys {sorted(av)} != {sorted(required)}"
    return None


def _check_bool(answer: str, av: dict, truth: bool) -> str | None:
    if not isinstance(truth, bool):
        raise TypeError(f"a yes/no question with a {type(truth).__name__} truth")
    why = _keys(av, {"bool"})
    if why:
        return why
    if av["bool"] is not truth:
        return f"bool {av['bool']} but the text's claim is {truth}"
    if parse_bool(answer) is not truth or answer.strip().rstrip(".").lower() not in ("yes", "no"):
        return f"answer {answer!r} does not say {'yes' if truth else 'no'}"
    return None


def _length_text(text: str) -> tuple[float, str, float] | None:
    """(shown number, unit, meters) of a length text like '1.23 m', '48 inches'."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?) (m|cm|inches|feet)", text.strip())
    if not m:
        return None
    unit = _UNIT_OF_WORD[m.group(2)]
    return float(m.group(1)), unit, float(m.group(1)) * METERS_PER_UNIT[unit]


def _check_free(answer: str, av: dict, truth: Any, ask: Ask, names: Names, scene: Scene, judge: Judge) -> str | None:
    kind = ask.kind
    if kind == "length":
        why = _keys(av, {"value", "unit", "meters", *ask.extra})
        if why:
            return why
        for k, v in ask.extra.items():
            if av[k] != v:
                return f"answer_value {k} {av[k]!r}, the question asks {v!r}"
        shown = _length_text(answer)
        if shown is None:
            return f"answer {answer!r} is not a length"
        number, unit, meters = shown
        if judge.exact and (unit != ask.unit or av["unit"] != unit):
            return f"answer in {unit} (value in {av['unit']}), the question asks {ask.unit}"
        if abs(float(av["value"]) - number) > 1e-9:
            return f"answer_value {av['value']} differs from the answer text {answer!r}"
        tol = judge.length_tolerance(truth, unit)
        if abs(meters - truth) > tol:
            return f"answer {answer!r} but the truth is {truth:.4f} m"
        if abs(float(av["meters"]) - truth) > (_METERS_VALUE_ROUNDING + 1e-6 if judge.exact else tol):
            return f"answer_value meters {av['meters']} but the truth is {truth:.4f} m"
        return None
    if kind == "xyz":
        why = _keys(av, {"xyz", "frame"})
        if why:
            return why
        if av["frame"] != ask.frame:
            return f"answer_value frame {av['frame']!r}, the question asks the {ask.frame} frame"
        m = re.fullmatch(r"\((-?\d+\.\d\d), (-?\d+\.\d\d), (-?\d+\.\d\d)\) m", answer)
        if not m:
            return f"answer {answer!r} is not an (x, y, z) in meters"
        shown = [float(v) for v in m.groups()]
        truths = np.atleast_2d(truth)
        if not any(judge.xyz_close(shown, t) for t in truths):
            return f"answer {answer!r} but the truth is {np.round(truths[0], 3).tolist()}"
        close = (lambda t: np.max(np.abs(np.asarray(av["xyz"], float) - t)) <= _XYZ_VALUE_ROUNDING + 1e-6) \
            if judge.exact else (lambda t: judge.xyz_close(av["xyz"], t))
        if len(av["xyz"]) != 3 or not any(close(t) for t in truths):
            return f"answer_value xyz {av['xyz']} but the truth is {np.round(truths[0], 4).tolist()}"
        return None
    if kind in ("facing", "side"):
        why = _keys(av, {"label"})
        if why:
            return why
        said = parse_facing(answer) if kind == "facing" else parse_direction(answer)
        if av["label"] != truth or said != truth:
            return f"answer {answer!r} / label {av['label']!r} but the truth is {truth!r}"
        return None
    if kind == "clock":
        why = _keys(av, {"label", "clock"})
        if why:
            return why
        if av["clock"] != truth or av["label"] != f"{truth} o'clock" or parse_clock(answer) != truth:
            return f"answer {answer!r} / clock {av['clock']} but the truth is {truth} o'clock"
        return None
    if kind == "count":
        why = _keys(av, {"count"})
        if why:
            return why
        if av["count"] != truth or parse_count(answer) != truth or answer.strip() != str(truth):
            return f"answer {answer!r} / count {av['count']} but the truth is {truth}"
        return None
    if kind == "point_index":
        why = _keys(av, {"label", "index"})
        if why:
            return why
        if av["index"] != truth or av["label"] != f"point {truth}" or answer != f"Point {truth}.":
            return f"answer {answer!r} / index {av['index']} but the truth is point {truth}"
        return None
    if kind == "pick":
        why = _keys(av, {"label", "object_id", "index"})
        if why:
            return why
        said = names.object_of(answer)
        if said != truth or av["object_id"] != truth:
            return f"answer {answer!r} (object {said}) / object_id {av['object_id']} but the truth is object {truth}"
        if judge.exact:
            if av["label"] != names.expression.get(truth):
                return f"answer_value label {av['label']!r} is not object {truth}'s name"
            positions = ask.positions(scene) if ask.positions else []
            if truth not in positions or av["index"] != positions.index(truth) + 1:
                return f"answer_value index {av['index']} is not object {truth}'s position in {positions}"
        return None
    if kind == "order":
        why = _keys(av, {"order", "label"})
        if why:
            return why
        if list(av["order"]) != list(truth):
            return f"answer_value order {av['order']} but the truth is {truth}"
        said = [int(x) for x in _MARKED.findall(names.mark(answer))]
        expected = ", ".join(names.expression[o] for o in truth)
        if said != list(truth) or answer != expected[:1].upper() + expected[1:] + "." or av["label"] != expected:
            return f"answer {answer!r} does not list the truth's order {truth}"
        return None
    raise TypeError(f"no free answer of kind {kind}")


def _option_values(reading: Reading, names: Names) -> list[Any]:
    """Each option text read as a value of the answer's kind (None where it does not read)."""
    kind, opts = reading.ask.kind, reading.options
    if kind == "length":
        out = []
        for o in opts:
            shown = _length_text(o)
            out.append(shown[2] if shown and shown[1] == reading.ask.unit else None)
        return out
    if kind == "xyz":
        return [np.asarray(v) if (v := parse_xyz(o)) is not None and re.fullmatch(r"\(.*\)", o) else None for o in opts]
    if kind == "facing":
        return [parse_facing(o[len("facing "):]) if o.startswith("facing ") else None for o in opts]
    if kind == "quadrant":
        return [o if o in QUADRANT_WORDS else None for o in opts]
    if kind == "clock":
        return [parse_clock(o) if re.fullmatch(r"\d+ o'clock", o) else None for o in opts]
    if kind == "count":
        return [int(o) if o.isdigit() else None for o in opts]
    if kind == "pick":
        return [names.object_of(o) for o in opts]
    if kind == "pixel":
        return [_option_pixel(o) for o in opts]
    raise TypeError(f"no options of kind {kind}")


def _check_choice(answer: str, av: dict, truth: Any, reading: Reading, names: Names, judge: Judge) -> str | None:
    ask, opts = reading.ask, reading.options
    extra = dict(ask.extra)
    if ask.kind == "pick":
        extra["option_ids"] = None
    why = _keys(av, {"choice", "options", *extra})
    if why:
        return why
    for k, v in ask.extra.items():
        if av[k] != v:
            return f"answer_value {k} {av[k]!r}, the question asks {v!r}"
    letter = av["choice"]
    if not isinstance(letter, str) or letter not in LETTERS[:len(opts)]:
        return f"letter {letter!r} is not one of the {len(opts)} options"
    pos = LETTERS.index(letter)
    shown_opts = [o[len("facing "):] if ask.kind == "facing" and o.startswith("facing ") else o for o in opts]
    if list(av["options"]) != shown_opts:
        return f"answer_value options {av['options']} differ from the options in the question {opts}"
    if answer != f"{letter}. {opts[pos]}":
        return f"answer {answer!r} is not letter {letter} with its option text"
    values = _option_values(reading, names)
    unreadable = [o for o, v in zip(opts, values) if v is None]
    if unreadable:
        return f"option {unreadable[0]!r} does not read as a {ask.kind}"
    if ask.kind == "pick" and list(av["option_ids"]) != values:
        return f"answer_value option_ids {av['option_ids']} != the options' objects {values}"
    if ask.kind == "length":
        errs = [abs(v - truth) for v in values]
        if not judge.exact:
            return None if int(np.argmin(errs)) == pos else f"option {letter} is not the closest to {truth:.3f} m"
        if errs[pos] > judge.length_tolerance(truth, ask.unit):
            return f"option {letter} ({opts[pos]}) but the truth is {truth:.4f} m"
        # every other option must be clearly wrong: off the truth by the margin, less the shown rounding
        c, rounding = judge.config, ROUNDING_M[ask.unit]
        close = [LETTERS[k] for k, v in enumerate(values)
                 if k != pos and errs[k] < max(c.margin_abs_m, c.margin_rel * max(v, truth)) - rounding - _EPS]
        return f"options {close} are within the margin of the truth" if close else None
    if ask.kind == "xyz":
        truths = np.atleast_2d(truth)
        if not judge.exact:
            errs = [min(float(np.linalg.norm(v - t)) for t in truths) for v in values]
            return None if int(np.argmin(errs)) == pos else f"option {letter} is not the closest to the truth"
        if not any(judge.xyz_close(values[pos], t) for t in truths):
            return f"option {letter} {opts[pos]} but the truth is {np.round(truths[0], 3).tolist()}"
        c = judge.config
        close = [LETTERS[k] for k, v in enumerate(values) if k != pos and any(
            float(np.linalg.norm(v - t)) < max(c.margin_abs_m, c.margin_rel * float(np.linalg.norm(t)))
            - math.sqrt(3) * _XYZ_ROUNDING for t in truths)]
        return f"options {close} are within the margin of the truth" if close else None
    if len(set(map(str, values))) != len(values):
        return f"options {opts} repeat a value"
    hits = [k for k, v in enumerate(values) if v == truth]
    if hits != [pos]:
        right = ", ".join(LETTERS[k] for k in hits) or "none"
        return f"letter {letter} but the truth {truth!r} is option {right}"
    return None


# ---------------------------------------------------------------------------------------------
# Frames of rows

VERDICT_SCHEMA = {"drop_id": pl.String, "image_id": pl.String, "qa_id": pl.String, "level": pl.Int32,
                  "task": pl.String, "format": pl.String, "read": pl.Boolean, "holds": pl.Boolean, "reason": pl.String}


def read_rows(qa: pl.DataFrame, names: Names, scene: Scene, judge: Judge) -> pl.DataFrame:
    """One verdict per row of one image's QA: read, holds, reason."""
    out: dict[str, list] = {k: [] for k in VERDICT_SCHEMA}
    for row in qa.iter_rows(named=True):
        v = check_row(row, names, scene, judge)
        for k in ("drop_id", "image_id", "qa_id", "level", "task", "format"):
            out[k].append(row[k])
        out["read"].append(v.read)
        out["holds"].append(v.read and v.reason is None)
        out["reason"].append(v.reason)
    return pl.DataFrame(out, schema=VERDICT_SCHEMA)


def coverage(verdicts: pl.DataFrame) -> pl.DataFrame:
    """Per task × format: rows, read, holding, failed (unread included), and the read share in percent."""
    return (verdicts.group_by("level", "task", "format")
            .agg(rows=pl.len(), read=pl.col("read").sum(), holds=pl.col("holds").sum())
            .with_columns(failed=pl.col("rows") - pl.col("holds"),
                          coverage_pct=(100.0 * pl.col("read") / pl.col("rows")).round(1))
            .sort("level", "task", "format"))


def true_shares(verdicts: pl.DataFrame, by: tuple[str, ...] = ("level",)) -> pl.DataFrame:
    """Per group: rows, read, and the rows that hold with their share (against the truth: the answers
    that stay true, i.e. one minus the label noise of estimation)."""
    return (verdicts.group_by(*by).agg(rows=pl.len(), read=pl.col("read").sum(), true=pl.col("holds").sum())
            .with_columns(true_share=(pl.col("true") / pl.col("rows")).round(4)).sort(*by))
