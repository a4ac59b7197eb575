"""An independent reader of referring expressions: text in, the set of object ids it denotes out.

Written from the grammar in the template module's docstring only (no import of its code): a regex
parser over the image's own label and color vocabularies, and plain per-object geometry loops. With
``strict=False`` it reads relations literally (left of = smaller x, leftmost = smallest x); with
``strict=True`` it demands the documented margins. A good referral resolves to one object either way.
"""

from __future__ import annotations

import math
import re

import polars as pl

REL_PATTERN = r"to the left of|to the right of|in front of|behind|above|below|on"
ADJ_PATTERN = r"bigger|smaller|largest|smallest|leftmost|rightmost|highest|lowest"


class Resolver:
    def __init__(self, objects: pl.DataFrame, *, strict: bool = False, margin_m: float = 0.15,
                 size_margin: float = 0.25, on_tolerance_m: float = 0.05, contact_tolerance_m: float | None = None,
                 footprint_grow_m: float = 0.0):
        self.objects = objects.to_dicts()
        self.contact_tol = on_tolerance_m if contact_tolerance_m is None else contact_tolerance_m  # above/below
        self.footprint_grow = footprint_grow_m
        for o in self.objects:  # labels read with spaces for underscores ("trash_can" -> "trash can")
            o["label"] = o["label"].replace("_", " ")
        self.margin = margin_m if strict else 0.0
        self.size_margin = size_margin if strict else 0.0
        self.on_tol = on_tolerance_m
        alt = lambda words: "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # noqa: E731
        labels = alt({o["label"] for o in self.objects})
        colors = alt({o["color"] for o in self.objects if o.get("color")}) or "(?!)"
        self.np_re = rf"the (?:(?P<adj>{ADJ_PATTERN}) )?(?:(?P<color>{colors}) )?(?P<label>{labels})"
        self.np_only = re.compile(rf"^{self.np_re}$")
        suffix = rf" (?P<dist>closest to the camera|farthest from the camera)| (?P<clauses>(?:{REL_PATTERN}) the .+)"
        self.full = re.compile(rf"^{self.np_re}(?:{suffix})?$")

    def resolve(self, expression: str) -> set[int]:
        """Object ids that ``expression`` denotes (empty if it does not parse)."""
        m = self.full.match(expression)
        if not m:
            return set()
        if m["adj"] and m["clauses"]:
            return set()  # the grammar has no selector together with clauses
        candidates = self._candidates(m["label"], m["color"])
        if m["adj"]:
            return self._select(candidates, m["adj"])
        if m["dist"]:
            return self._select(candidates, m["dist"].split()[0])
        if m["clauses"]:
            for relation, anchor_text in self._split_clauses(m["clauses"]):
                anchor = self._resolve_anchor(anchor_text)
                if anchor is None:
                    return set()
                candidates = [o for o in candidates if o is not anchor and self._holds(relation, o, anchor)]
        return {o["object_id"] for o in candidates}

    def _split_clauses(self, text: str) -> list[tuple[str, str]]:
        parts = re.split(rf" and (?=(?:{REL_PATTERN}) the )", text)
        out = []
        for part in parts:
            rel = re.match(rf"^({REL_PATTERN}) (the .+)$", part)
            out.append((rel[1], rel[2]))
        return out

    def _resolve_anchor(self, text: str) -> dict | None:
        m = self.np_only.match(text)
        if not m:
            return None
        found = self._candidates(m["label"], m["color"])
        if m["adj"]:
            ids = self._select(found, m["adj"])
            found = [o for o in found if o["object_id"] in ids]
        return found[0] if len(found) == 1 else None

    def _candidates(self, label: str, color: str | None) -> list[dict]:
        return [o for o in self.objects if o["label"] == label and (color is None or o["color"] == color)]

    def _select(self, candidates: list[dict], word: str) -> set[int]:
        """The candidate that beats every other one on the selector's measure (by the margin if strict)."""
        if word in ("bigger", "smaller") and len(candidates) != 2:
            return set()
        if word in ("largest", "smallest") and len(candidates) < 3:
            return set()
        measure, higher_wins = {
            "bigger": (volume, True), "largest": (volume, True),
            "smaller": (volume, False), "smallest": (volume, False),
            "leftmost": (lambda o: o["center_x"], False), "rightmost": (lambda o: o["center_x"], True),
            "highest": (lambda o: o["center_z"], True), "lowest": (lambda o: o["center_z"], False),
            "closest": (camera_distance, False), "farthest": (camera_distance, True),
        }[word]
        winners = set()
        for o in candidates:
            others = [measure(p) for p in candidates if p is not o]
            if word in ("bigger", "largest", "smaller", "smallest"):
                ratio = 1.0 + self.size_margin
                wins = all(measure(o) > ratio * v if higher_wins else measure(o) * ratio < v for v in others)
            else:
                sign = 1.0 if higher_wins else -1.0
                wins = all(sign * (measure(o) - v) > self.margin for v in others)
            if wins:
                winners.add(o["object_id"])
        return winners

    def _holds(self, relation: str, a: dict, b: dict) -> bool:
        m = self.margin
        if relation == "to the left of":
            return a["center_x"] < b["center_x"] - m
        if relation == "to the right of":
            return a["center_x"] > b["center_x"] + m
        if relation == "in front of":
            return a["center_y"] < b["center_y"] - m
        if relation == "behind":
            return a["center_y"] > b["center_y"] + m
        a_bottom, a_top = a["center_z"] - a["height"] / 2, a["center_z"] + a["height"] / 2
        b_bottom, b_top = b["center_z"] - b["height"] / 2, b["center_z"] + b["height"] / 2
        if relation == "above":  # entirely higher, contact allowed
            return a_bottom >= b_top - self.contact_tol
        if relation == "below":
            return a_top <= b_bottom + self.contact_tol
        if relation == "on":
            return (abs(a_bottom - b_top) <= self.on_tol
                    and over_footprint((a["center_x"], a["center_y"]), b, self.footprint_grow))
        raise ValueError(relation)


def volume(o: dict) -> float:
    return o["width"] * o["depth"] * o["height"]


def camera_distance(o: dict) -> float:
    return math.sqrt(o["center_x"] ** 2 + o["center_y"] ** 2 + o["center_z"] ** 2)


def over_footprint(point: tuple[float, float], b: dict, grow: float = 0.0) -> bool:
    """Point inside b's yaw-rotated footprint rectangle (grown by ``grow``): same side of all four edges."""
    yaw = b.get("yaw") or 0.0
    half_w, half_d = b["width"] / 2 + grow, b["depth"] / 2 + grow
    ux, uy = math.cos(yaw) * half_w, math.sin(yaw) * half_w
    vx, vy = -math.sin(yaw) * half_d, math.cos(yaw) * half_d
    cx, cy = b["center_x"], b["center_y"]
    corners = [(cx + ux + vx, cy + uy + vy), (cx - ux + vx, cy - uy + vy),
               (cx - ux - vx, cy - uy - vy), (cx + ux - vx, cy + uy - vy)]
    signs = []
    for (x0, y0), (x1, y1) in zip(corners, corners[1:] + corners[:1]):
        signs.append((x1 - x0) * (point[1] - y0) - (y1 - y0) * (point[0] - x0))
    return all(s >= -1e-12 for s in signs) or all(s <= 1e-12 for s in signs)
