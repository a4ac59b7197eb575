"""`template` referral backend: the shortest expression that picks out exactly one object, verified by geometry.

QA questions must name their objects unambiguously (HiSpatial stage 2). Instead of a VLM description
checked by grounding, this backend composes expressions from a small closed grammar and keeps one only
if its predicate, evaluated over *all* objects of the image, is satisfied by exactly the target.

Grammar (words separated by single spaces; LABEL and COLOR are the image's own labels and colors,
verbatim except that underscores in labels read as spaces, multi-word allowed)::

    expression := "the" [SELECTOR] [COLOR] LABEL [SUFFIX]
    SELECTOR   := "bigger" | "smaller"        of exactly two candidates, by box volume width*depth*height
                | "largest" | "smallest"      of three or more candidates, by box volume
                | "leftmost" | "rightmost"    by gravity-frame x (as seen from the camera)
                | "highest" | "lowest"        by center z
    SUFFIX     := "closest to the camera" | "farthest from the camera"     by center distance from the
                                                                          origin (the camera); no SELECTOR
                | CLAUSE ["and" CLAUSE]                                   no SELECTOR
    CLAUSE     := RELATION ANCHOR
    RELATION   := "to the left of" | "to the right of"   x
                | "in front of" | "behind"               y (farther from the camera = behind)
                | "above" | "below"                      vertically clear: A's bottom at or above B's top
                                                         ("below": A's top at or under B's bottom), both
                                                         within on_tolerance_m; no horizontal condition
                | "on"                                   A's bottom within on_tolerance_m of B's top and
                                                         A's center over B's (yaw-rotated) footprint
    ANCHOR     := "the" [SELECTOR] [COLOR] LABEL         uniquely referable on its own, never the target
    fallback   := "the" LABEL "in the box [x0, y0, x1, y1]"   2D box normalized to [0, 1000) (not verified)

Meaning: ``[COLOR] LABEL`` denotes the candidates (every object of the image with that label, and that
color); a SELECTOR or distance SUFFIX picks the extreme candidate; CLAUSEs keep the candidates that
stand in the relation to the anchor. Nothing else is used; in particular ground-truth ``supported_by``
is ignored ("on" is derived from the boxes), so detected objects get the same treatment.

Robustness: the target must satisfy every predicate *with* a margin (``margin_m`` meters for
positions and distances, volume ratio ``1 + size_margin`` for size, ``on_tolerance_m`` for "on"), and
every other candidate must clearly fail it: directions even at margin ``-margin_m / 2`` (the other
stands at least half a margin on the far side of the anchor), "on" at three times the tolerance over a
footprint grown by ``margin_m``, "above"/"below" at the tolerance plus ``margin_m``; selectors need the
target to beat every other candidate by the margin. So the plain reading (left of = smaller x, on =
touching within the tolerance, ...) and the margin reading both resolve the same single object, and
stay so under geometry errors well below the margins. Unknown (NaN) geometry never verifies a
predicate and never rules a candidate out.

Search: candidates are ranked shortest first (word count), ties by strategy (class < attribute <
relation) then by a fixed order, so a unique class yields "the sofa". Two-clause conjunctions are
tried only when nothing shorter is unique. Each chosen expression is also parsed back with
`parse_expression` and must have exactly one parse, equal to what was meant (labels or colors that
collide with grammar words would otherwise read ambiguously). Objects with no verified expression fall
back to `fallback_expression` (class label + 2D box, as in the paper).

Columns: ``iou`` is null: it is a grounding measure and nothing is grounded here (the ``vlm`` backend
fills it); ``verified`` is True exactly for ``method == "template"``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import ClassVar, Iterator

import numpy as np
import polars as pl

from hispatial_assets import schema
from hispatial_assets.perception.base import ImageRef
from hispatial_assets.perception.referral.common import fallback_expression

BACKEND = "template"
SIZE_SELECTORS = ("bigger", "smaller", "largest", "smallest")
POSITION_SELECTORS = ("leftmost", "rightmost", "highest", "lowest")
ADJECTIVE_SELECTORS = SIZE_SELECTORS + POSITION_SELECTORS
DISTANCE_SUFFIXES = {"closest": "closest to the camera", "farthest": "farthest from the camera"}
# Order matters only to break ties between expressions of equal length.
RELATIONS = {
    "on": "on", "left_of": "to the left of", "right_of": "to the right of",
    "in_front_of": "in front of", "behind": "behind", "above": "above", "below": "below",
}
_REL_KEYS = tuple(RELATIONS)
_REL_WORDS = np.array([len(RELATIONS[k].split()) for k in _REL_KEYS])
STRATEGIES = ("class", "attribute", "relation", "fallback")
_MAX_PAIR_CANDIDATES = 16  # best conjunctions kept per target (parse round trip may reject some)


@dataclass(frozen=True)
class NounPhrase:
    """A parsed or composed expression; ``selector`` covers adjectives and the distance suffixes."""

    label: str
    color: str | None = None
    selector: str | None = None  # one of ADJECTIVE_SELECTORS, "closest" or "farthest"
    clauses: tuple[tuple[str, NounPhrase], ...] = ()  # (relation key, anchor)

    def text(self) -> str:
        words = ["the"]
        if self.selector in ADJECTIVE_SELECTORS:
            words.append(self.selector)
        if self.color:
            words.append(self.color)
        words.append(self.label)
        if self.selector in DISTANCE_SUFFIXES:
            words.append(DISTANCE_SUFFIXES[self.selector])
        words.append(" and ".join(f"{RELATIONS[r]} {a.text()}" for r, a in self.clauses))
        return " ".join(w for w in words if w)

    @property
    def strategy(self) -> str:
        if self.clauses or (self.selector and self.selector not in SIZE_SELECTORS):
            return "relation"
        return "attribute" if (self.color or self.selector) else "class"


# ---------------------------------------------------------------------------------------------- parsing


def parse_expression(text: str, labels, colors) -> list[NounPhrase]:
    """Every parse of ``text`` under the grammar, given the image's labels and colors (one = unambiguous)."""
    toks = tuple(text.split())
    vocab = (_token_seqs(labels), _token_seqs(colors))
    out = []
    for head, i in _parse_np(toks, 0, vocab):
        rest = toks[i:]
        if not rest:
            out.append(head)
            continue
        if head.selector is not None:
            continue
        for key, suffix in DISTANCE_SUFFIXES.items():
            if rest == tuple(suffix.split()):
                out.append(replace(head, selector=key))
        out.extend(replace(head, clauses=c) for c in _parse_clauses(toks, i, vocab))
    return out


def _token_seqs(words) -> list[tuple[str, ...]]:
    return sorted({tuple(str(w).split()) for w in words if w is not None and str(w).strip()})


def _match(toks: tuple[str, ...], i: int, seq: tuple[str, ...]) -> bool:
    return toks[i:i + len(seq)] == seq


def _parse_np(toks, i, vocab) -> Iterator[tuple[NounPhrase, int]]:
    labels, colors = vocab
    if not _match(toks, i, ("the",)):
        return
    i += 1
    starts = [(None, i)] + ([(toks[i], i + 1)] if i < len(toks) and toks[i] in ADJECTIVE_SELECTORS else [])
    for selector, j in starts:
        for color in [None, *colors]:
            k = j if color is None else (j + len(color) if _match(toks, j, color) else None)
            if k is None:
                continue
            for label in labels:
                if _match(toks, k, label):
                    yield (NounPhrase(" ".join(label), color and " ".join(color), selector), k + len(label))


def _parse_clauses(toks, i, vocab) -> Iterator[tuple[tuple[str, NounPhrase], ...]]:
    for key, phrase in RELATIONS.items():
        seq = tuple(phrase.split())
        if not _match(toks, i, seq):
            continue
        for anchor, j in _parse_np(toks, i + len(seq), vocab):
            if j == len(toks):
                yield ((key, anchor),)
            elif toks[j] == "and":
                for more in _parse_clauses(toks, j + 1, vocab):
                    if len(more) == 1:
                        yield ((key, anchor), *more)


# ---------------------------------------------------------------------------------------------- geometry


def relation_matrices(objects: pl.DataFrame, *, margin_m: float,
                      on_tolerance_m: float) -> tuple[np.ndarray, np.ndarray]:
    """(strict, lax) bool arrays (R, N, N): ``[r, i, j]`` = object i stands in relation r to anchor j.

    strict: with the margin (what the target must satisfy); lax: loosened past the plain reading (what every
    other candidate must fail). Relations follow ``RELATIONS`` order; the diagonal is False.
    """
    x, y, z, w, d, h = (_col(objects, c) for c in ("center_x", "center_y", "center_z", "width", "depth", "height"))
    yaw = np.nan_to_num(_col(objects, "yaw"), nan=0.0)
    dx, dy = x[:, None] - x[None, :], y[:, None] - y[None, :]
    gap = (z - h / 2)[:, None] - (z + h / 2)[None, :]  # i's bottom above j's top
    gap_below = (z + h / 2)[:, None] - (z - h / 2)[None, :]  # i's top above j's bottom
    c, s = np.cos(yaw)[None, :], np.sin(yaw)[None, :]
    u, v = np.abs(dx * c + dy * s), np.abs(-dx * s + dy * c)  # i's center in j's box axes
    half_w, half_d = (w / 2)[None, :], (d / 2)[None, :]
    m, tol = margin_m, on_tolerance_m
    with np.errstate(invalid="ignore"):
        by_key = {
            "on": ((np.abs(gap) <= tol) & (u <= half_w) & (v <= half_d),
                   (np.abs(gap) <= 3 * tol) & (u <= half_w + m) & (v <= half_d + m)),
            "left_of": (dx < -m, dx < m / 2), "right_of": (dx > m, dx > -m / 2),
            "in_front_of": (dy < -m, dy < m / 2), "behind": (dy > m, dy > -m / 2),
            "above": (gap >= -tol, gap >= -tol - m), "below": (gap_below <= tol, gap_below <= tol + m),
        }
    strict = np.stack([by_key[k][0] for k in _REL_KEYS])
    lax = np.stack([by_key[k][1] for k in _REL_KEYS])
    geom = np.stack([x, y, z, w, d, h])
    unknown = ~np.isfinite(geom).all(axis=0)
    unknown_pair = unknown[:, None] | unknown[None, :]
    strict &= ~unknown_pair
    lax |= unknown_pair
    eye = np.eye(len(x), dtype=bool)
    strict[:, eye] = False
    lax[:, eye] = False
    return strict, lax


def _col(objects: pl.DataFrame, name: str) -> np.ndarray:
    if name not in objects.columns:
        return np.full(len(objects), np.nan)
    values = objects[name].to_numpy()  # nulls come out as NaN for numeric columns
    return np.asarray(values if values.dtype != object else np.where(values == None, np.nan, values),  # noqa: E711
                      dtype=np.float64)


def display_label(label: str | None) -> str:
    """A class label as it reads in text: underscores become spaces ("trash_can" -> "trash can")."""
    return " ".join(str(label or "object").replace("_", " ").split())


def _strings(objects: pl.DataFrame, name: str) -> list[str | None]:
    if name not in objects.columns:
        return [None] * len(objects)
    return [(str(v).strip() or None) if v is not None else None for v in objects[name].to_list()]


# ---------------------------------------------------------------------------------------------- search


class _ImageReferrer:
    """All candidate expressions for the objects of one image, ranked and verified."""

    def __init__(self, objects: pl.DataFrame, max_relations: int, margin_m: float, size_margin: float,
                 on_tolerance_m: float):
        self.n = len(objects)
        self.labels = [display_label(lbl) for lbl in _strings(objects, "label")]
        self.colors = [" ".join(c.split()) if c else None for c in _strings(objects, "color")]
        x, y, z = _col(objects, "center_x"), _col(objects, "center_y"), _col(objects, "center_z")
        self.keys = {  # selector -> (value per object, +1 = largest wins, -1 = smallest wins)
            "leftmost": (x, -1), "rightmost": (x, 1), "lowest": (z, -1), "highest": (z, 1),
            "closest": (np.sqrt(x * x + y * y + z * z), -1), "farthest": (np.sqrt(x * x + y * y + z * z), 1),
        }
        self.volume = _col(objects, "width") * _col(objects, "depth") * _col(objects, "height")
        self.center = np.stack([x, y, z], axis=1)
        ids = objects["object_id"] if "object_id" in objects.columns else pl.Series(range(self.n))
        self.ids = ids.cast(pl.Int64).fill_null(-1).to_numpy()  # final tie-break: independent of row order
        hidden = np.zeros(self.n, dtype=bool)
        for flag in ("truncated", "occluded"):
            if flag in objects.columns:
                hidden |= objects[flag].fill_null(False).to_numpy().astype(bool)
        self.hidden = hidden
        self.max_relations, self.margin_m, self.size_margin = max_relations, margin_m, size_margin
        self.strict, self.lax = relation_matrices(objects, margin_m=margin_m, on_tolerance_m=on_tolerance_m)
        self.vocab = (sorted(set(self.labels)), sorted({c for c in self.colors if c}))
        self._label_arr, self._color_arr = np.array(self.labels, dtype=object), np.array(self.colors, dtype=object)
        # relation-free expressions first: they are the candidates' base and the anchors of relations
        self.base = [self._base_candidates(t) for t in range(self.n)]
        self.anchor = [self._first_valid(c for c in cands if c[1].selector not in DISTANCE_SUFFIXES)
                       for cands in self.base]
        self.anchor_words = np.array([len(a.text().split()) if a else 0 for a in self.anchor])

    def refer(self) -> list[tuple[NounPhrase | None, str]]:
        """(phrase or None for fallback, strategy) per object, in input order."""
        out = []
        for t in range(self.n):
            cands = list(self.base[t])
            if self.max_relations >= 1 and len(self._head(t, None)) > 1:
                cands += self._clause_candidates(t)
            cands.sort(key=lambda c: c[0])
            best = self._first_valid(cands)
            if best is None and self.max_relations >= 2:
                best = self._first_valid(self._pair_candidates(t))
            out.append((best, best.strategy if best else "fallback"))
        return out

    def _first_valid(self, cands) -> NounPhrase | None:
        """First candidate whose text parses back to exactly itself."""
        for _, phrase in cands:
            if parse_expression(phrase.text(), *self.vocab) == [phrase]:
                return phrase
        return None

    def _head(self, t: int, color: str | None) -> np.ndarray:
        mask = self._label_arr == self.labels[t]
        if color is not None:
            mask &= self._color_arr == color
        return np.flatnonzero(mask)

    def _heads(self, t: int) -> list[tuple[str | None, np.ndarray]]:
        heads = [(None, self._head(t, None))]
        color = self.colors[t]
        if color is not None:
            colored = self._head(t, color)
            if len(colored) < len(heads[0][1]):
                heads.append((color, colored))
        return heads

    def _base_candidates(self, t: int) -> list[tuple[tuple, NounPhrase]]:
        """Class, color and selector expressions that single out t, sorted shortest first."""
        cands = []
        for color, members in self._heads(t):
            head = NounPhrase(self.labels[t], color)
            if len(members) == 1:
                cands.append(head)
                continue
            others = members[members != t]
            for selector in self._selectors(t, members, others):
                cands.append(replace(head, selector=selector))
        ranked = [(_rank(p, i), p) for i, p in enumerate(cands)]
        return sorted(ranked, key=lambda c: c[0])

    def _selectors(self, t: int, members: np.ndarray, others: np.ndarray) -> list[str]:
        found = []
        vol = self.volume
        if np.isfinite(vol[members]).all():
            two = len(members) == 2
            if (vol[t] > (1 + self.size_margin) * vol[others]).all():
                found.append("bigger" if two else "largest")
            if ((1 + self.size_margin) * vol[t] < vol[others]).all():
                found.append("smaller" if two else "smallest")
        for name, (value, sign) in self.keys.items():
            if np.isfinite(value[members]).all() and (sign * (value[t] - value[others]) > self.margin_m).all():
                found.append(name)
        return found

    def _anchor_order(self, t: int, anchors: np.ndarray) -> np.ndarray:
        """Tie-break among anchors: fully visible first, then nearest to the target."""
        dist = np.linalg.norm(self.center[anchors] - self.center[t], axis=1)
        return np.lexsort((self.ids[anchors], np.nan_to_num(dist, nan=np.inf), self.hidden[anchors]))

    def _clause_matrix(self, t: int, others: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Clauses (r, a) t satisfies strictly, and for each, which other candidates also pass laxly."""
        has_anchor = np.array([a is not None for a in self.anchor]) & (np.arange(self.n) != t)
        r_idx, a_idx = np.nonzero(self.strict[:, t, :] & has_anchor[None, :])
        covered = self.lax[r_idx[:, None], others[None, :], a_idx[:, None]]  # (K, |others|)
        return r_idx, a_idx, covered

    def _clause_candidates(self, t: int) -> list[tuple[tuple, NounPhrase]]:
        cands = []
        for color, members in self._heads(t):
            if len(members) == 1:
                continue
            r_idx, a_idx, covered = self._clause_matrix(t, members[members != t])
            ok = ~covered.any(axis=1)
            r_idx, a_idx = r_idx[ok], a_idx[ok]
            order = self._anchor_order(t, a_idx) if len(a_idx) else []
            for rank, k in enumerate(order):
                phrase = NounPhrase(self.labels[t], color, None, ((_REL_KEYS[r_idx[k]], self.anchor[a_idx[k]]),))
                cands.append((_rank(phrase, (r_idx[k], rank)), phrase))
        return cands

    def _pair_candidates(self, t: int) -> list[tuple[tuple, NounPhrase]]:
        """Best two-clause conjunctions: no other candidate passes both clauses (laxly)."""
        cands = []
        for color, members in self._heads(t):
            if len(members) == 1:
                continue
            r_idx, a_idx, covered = self._clause_matrix(t, members[members != t])
            if len(r_idx) < 2:
                continue
            order = np.lexsort((self._anchor_order(t, a_idx).argsort(), r_idx,
                                _REL_WORDS[r_idx] + self.anchor_words[a_idx]))
            r_idx, a_idx, covered = r_idx[order], a_idx[order], covered[order].astype(np.int32)
            words = _REL_WORDS[r_idx] + self.anchor_words[a_idx]
            unique = (covered @ covered.T) == 0
            unique &= np.triu(np.ones_like(unique), k=1).astype(bool) & (a_idx[:, None] != a_idx[None, :])
            k1, k2 = np.nonzero(unique)
            if not len(k1):
                continue
            best = np.lexsort((k2, k1, words[k1] + words[k2]))[:_MAX_PAIR_CANDIDATES]
            for rank, p in enumerate(best):
                i, j = k1[p], k2[p]
                clauses = ((_REL_KEYS[r_idx[i]], self.anchor[a_idx[i]]), (_REL_KEYS[r_idx[j]], self.anchor[a_idx[j]]))
                phrase = NounPhrase(self.labels[t], color, None, clauses)
                cands.append((_rank(phrase, rank), phrase))
        return sorted(cands, key=lambda c: c[0])


def _rank(phrase: NounPhrase, order) -> tuple:
    """Sort key: word count, then strategy (class < attribute < relation), then the caller's order."""
    order = order if isinstance(order, tuple) else (order,)
    return (len(phrase.text().split()), STRATEGIES.index(phrase.strategy), order)


# ---------------------------------------------------------------------------------------------- API


def refer_objects(objects: pl.DataFrame, width: int, height: int, *, max_relations: int = 2,
                  margin_m: float = 0.15, size_margin: float = 0.25, on_tolerance_m: float = 0.05) -> pl.DataFrame:
    """Verified shortest referring expression per object of ONE image (grammar in the module docstring).

    ``objects`` needs label, color, center_x/y/z, width/depth/height (gravity frame) and box_x0..box_y1
    (pixels); yaw, truncated, occluded, drop_id, image_id and object_id are used when present.
    ``width``/``height`` are the image size in pixels (for the fallback's normalized box).
    Returns `schema.REFERRALS` columns plus ``strategy`` (class / attribute / relation / fallback), rows
    in input order.
    """
    if max_relations not in (0, 1, 2):
        raise ValueError(f"max_relations must be 0, 1 or 2, got {max_relations}")
    out_schema = schema.REFERRALS | {"strategy": pl.String}
    if objects.is_empty():
        return pl.DataFrame(schema=out_schema)
    referrer = _ImageReferrer(objects, max_relations, margin_m, size_margin, on_tolerance_m)
    boxes = np.stack([_col(objects, c) for c in ("box_x0", "box_y0", "box_x1", "box_y1")], axis=1)
    rows = {"expression": [], "method": [], "verified": [], "strategy": []}
    for t, (phrase, strategy) in enumerate(referrer.refer()):
        if phrase is None:
            expression = fallback_expression(referrer.labels[t], np.nan_to_num(boxes[t]), width, height)
        else:
            expression = phrase.text()
        rows["expression"].append(expression)
        rows["method"].append("fallback" if phrase is None else "template")
        rows["verified"].append(phrase is not None)
        rows["strategy"].append(strategy)
    n = len(objects)
    ids = {c: objects[c] if c in objects.columns else pl.Series(c, [None] * n)
           for c in ("drop_id", "image_id", "object_id")}
    if "object_id" not in objects.columns:
        ids["object_id"] = pl.Series("object_id", range(n))
    frame = pl.DataFrame({**{c: s.alias(c) for c, s in ids.items()}, **rows,
                          "iou": pl.Series([None] * n, dtype=pl.Float32), "backend": [BACKEND] * n})
    return frame.select([pl.col(c).cast(t) for c, t in out_schema.items()])


@dataclass(frozen=True)
class TemplateReferrer:
    """Referral backend ``template`` (DESIGN §5): grammar expressions verified for uniqueness by geometry."""

    max_relations: int = 2  # relation clauses per expression: 0 (selectors only), 1, or 2 (conjunction)
    margin_m: float = 0.15  # positions and camera distances must differ by this much
    size_margin: float = 0.25  # "bigger" means volume > (1 + size_margin) * the other's
    on_tolerance_m: float = 0.05  # |A's bottom - B's top| for "A on B"

    name: ClassVar[str] = BACKEND
    version: ClassVar[str] = "1"

    def settings(self) -> dict:
        return {"max_relations": self.max_relations, "margin_m": self.margin_m,
                "size_margin": self.size_margin, "on_tolerance_m": self.on_tolerance_m}

    def refer(self, image: ImageRef | None, objects: pl.DataFrame) -> pl.DataFrame:
        """`schema.REFERRALS` rows for ``objects``; without ``image`` each image_id is referred on its own and
        the fallback box is normalized by the objects' extent (pass the image for exact normalized boxes)."""
        if objects.is_empty():
            return schema.empty("referrals")
        if image is not None:
            objects = objects.with_columns(drop_id=pl.lit(image.drop_id), image_id=pl.lit(image.image_id))
            return schema.conform(refer_objects(objects, image.width, image.height, **self.settings()), "referrals")
        groups = objects.partition_by("image_id", maintain_order=True) if "image_id" in objects.columns else [objects]
        parts = []
        for group in groups:
            w = max(1, math.ceil(np.nanmax(np.append(_col(group, "box_x1"), 1.0))))
            h = max(1, math.ceil(np.nanmax(np.append(_col(group, "box_y1"), 1.0))))
            parts.append(refer_objects(group, w, h, **self.settings()))
        return schema.conform(pl.concat(parts), "referrals")
