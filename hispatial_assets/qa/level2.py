"""L2 relations between objects (gravity frame, centers of the 3D boxes).

Direction: b is left of a when b.x < a.x, in front when b.y < a.y (farther = behind), above when
b.z > a.z; asked only when the offset along that axis passes the margin with the pair's distance as
the scale. Clock: the horizontal angle from +y (12 o'clock, straight ahead), clockwise toward +x,
asked only within ``angle_margin_deg`` of the hour. Sizes (taller, wider, bigger) only for objects
that are neither truncated nor occluded; bigger = box volume, asked when the ratio ≥ ``volume_ratio``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from hispatial_assets.qa.answers import (choice, choice_question, clock, label_answer, length, ordered, place,
                                        which_object, xyz, xyz_text, yes_no)
from hispatial_assets.qa.options import length_options, threshold_claim, xyz_distractors, xyz_variants
from hispatial_assets.qa.program import QUADRANTS
from hispatial_assets.qa.rand import sample, shuffle
from hispatial_assets.qa.text import CAMERA_VIEW, GRAVITY_FRAME, UNIT_HINT, join_and, templates
from hispatial_assets.qa.units import pick_unit

AXIS_WORDS = {"x": ("left", "right"), "y": ("in front", "behind"), "z": ("below", "above")}
REL_PHRASE = {"left": "to the left of", "right": "to the right of", "in front": "in front of",
              "behind": "behind", "above": "above", "below": "below"}
AXIS_CHOICES = {"x": "to the left or to the right of", "y": "in front of or behind", "z": "above or below"}
AXIS_VIEW = {
    "x": CAMERA_VIEW,
    "y": tuple(v + " (farther from the camera counts as behind)" for v in CAMERA_VIEW),
    "z": ("in the gravity-aligned frame (z up)", "with respect to gravity", "along the vertical axis of the gravity-aligned frame"),
}
AXIS_FREE = ("Is {b} {choices} {a}, {view}?", "{view_cap}, is {b} located {choices} {a}?",
             "Relative to {a}, is {b} {choices} it, {view}?")
AXIS_BOOL = ("Is {b} {rel} {a}, {view}?", "{view_cap}, is {b} {rel} {a}?", "Would you say {b} is {rel} {a}, {view}?")
AXIS_ANSWER = {"left": "To the left.", "right": "To the right.", "in front": "In front of it.",
               "behind": "Behind it.", "above": "Above it.", "below": "Below it."}
CLOCK_FREE = (
    "Standing at {a} and facing the camera's forward direction (12 o'clock = straight ahead, gravity-aligned frame), at what clock position is {b}?",
    "If 12 o'clock points straight ahead along the camera's horizontal forward direction, in which clock direction is {b} from {a}?",
    "Using clock directions in the gravity-aligned horizontal plane (12 o'clock = away from the camera), where is {b} as seen from {a}?",
)
QUAD_CHOICE = (
    "Where is {b} relative to {a}, {view}?", "{view_cap}, how is {b} positioned with respect to {a}?",
    "Relative to {a}, {b} is located ({view}):",
)
VEC_FREE = (
    "What is the 3D displacement vector from {a} to {b} {frame}, in meters?",
    "Give the vector (dx, dy, dz) in meters from the center of {a} to the center of {b}, {frame}.",
    "{frame_cap}, what offset in meters takes you from {a} to {b}?",
)
VEC_BOOL = (
    "Is the vector from {a} to {b} approximately {xyz} m {frame}?",
    "{frame_cap}, does going from {a} to {b} take an offset of about {xyz} meters?",
    "Is {b} displaced from {a} by roughly {xyz} m, {frame}?",
)
DIST_FREE = ("How far is {a} from {b}?", "What is the distance between {a} and {b}?",
             "How far apart are the centers of {a} and {b}?")
DIST_SUFFIX = {unit: f" (center to center, in 3D, gravity-aligned frame; answer {hint}.)" for unit, hint in UNIT_HINT.items()}
DIST_BOOL = {
    True: ("Are {a} and {b} more than {t} apart?", "Is {a} farther than {t} from {b}?",
           "Is the distance between {a} and {b} more than {t}?"),
    False: ("Are {a} and {b} less than {t} apart?", "Is {a} within {t} of {b}?",
            "Is the distance between {a} and {b} less than {t}?"),
}
COMPONENTS = ("horizontal", "vertical", "x", "y")
COMP_NAME = {"horizontal": "horizontal", "vertical": "vertical", "x": "left-right (x)", "y": "front-back (y)"}
COMP_FREE = {
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
COMP_SUFFIX = {unit: f" (box centers, gravity-aligned frame; answer {hint}.)" for unit, hint in UNIT_HINT.items()}
COMP_BOOL = ("Is the {name} distance between {a} and {b} {cmp} {t}?",
             "Measured {name}, are {a} and {b} {cmp} {t} apart?",
             "Is {a} {cmp} {t} from {b} in the {name} direction?")

# comparison properties: key, greater word, lesser word, phrase suffix
PROPS = {
    "height": ("taller", "shorter"), "width": ("wider", "narrower"), "volume": ("bigger", "smaller"),
    "cam_dist": ("farther from the camera", "closer to the camera"),
}
SUPER = {"height": ("tallest", "shortest"), "width": ("widest", "narrowest"), "volume": ("biggest", "smallest"),
         "cam_dist": ("farthest from the camera", "closest to the camera")}
ORDER_WORDS = {"height": ("from shortest to tallest", "from tallest to shortest"),
               "width": ("from narrowest to widest", "from widest to narrowest"),
               "volume": ("from smallest to biggest", "from biggest to smallest"),
               "cam_dist": ("from closest to farthest (distance from the camera)",
                            "from farthest to closest (distance from the camera)")}
SIZE_KEYS = ("height", "width", "volume")
CMP_FREE = ("Which is {word}: {a} or {b}?", "Between {a} and {b}, which one is {word}?", "Of {a} and {b}, which is {word}?")
CMP_CHOICE = ("Which of these is {word}?", "Which one is {word}?", "Pick the object that is {word}.")
CMP_BOOL = ("Is {a} {phrase}?", "Would you say {a} is {phrase}?", "Compared with {b}, is {a} {word}?")
CMP_SUFFIX = {"size": " (3D boxes in the gravity-aligned frame.)", "dist": " (3D center distances in the gravity-aligned frame.)"}
RANK_ORDER = ("Order {items} {words}.", "Sort these objects {words}: {items}.", "List {items} {words}.")
RANK_SUPER = ("Among {items}, which is the {sup}?", "Which of {items} is the {sup}?", "Of {items}, which one is the {sup}?")
RANK_CHOICE = ("Which of these objects is the {sup}?", "Which one is the {sup}?", "Pick the {sup} object.")
RANK_BOOL = ("Is {x} the {sup} among {items}?", "Of {items}, is {x} the {sup}?", "Among {items}, would {x} be the {sup}?")


def _view(rnd, views):
    v = views[int(rnd.random() * 3)]
    return v, v[:1].upper() + v[1:]


class Pairs:
    """Ordered pairs (a, b) of referable objects with their center offsets (b - a)."""

    def __init__(self, scene) -> None:
        a, b = (grid.ravel() for grid in np.meshgrid(scene.ref_idx, scene.ref_idx, indexing="ij"))
        keep = a != b
        self.a, self.b = a[keep], b[keep]
        d = scene.center[self.b] - scene.center[self.a]
        self.d = d
        self.dist = np.linalg.norm(d, axis=1)
        self.hdist = np.hypot(d[:, 0], d[:, 1])
        self.n = len(self.a)


def pairs(ctx) -> Pairs:
    if "pairs" not in ctx.cache:
        ctx.cache["pairs"] = Pairs(ctx.scene)
    return ctx.cache["pairs"]


def margin_ok(cfg, diff: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """`QAConfig.ok` over arrays: whether each difference is large enough to ask about."""
    return np.abs(diff) >= np.maximum(cfg.margin_abs_m, cfg.margin_rel * np.abs(scale))


def _clock(P: Pairs, cfg) -> tuple[np.ndarray, np.ndarray]:
    ang = np.degrees(np.arctan2(P.d[:, 0], P.d[:, 1]))
    h = np.round(ang / 30.0)
    off = np.abs(ang - 30.0 * h)
    hour = (h.astype(np.int64) % 12)
    hour[hour == 0] = 12
    ok = (off <= 15.0 - cfg.angle_margin_deg) & (P.hdist >= 2 * cfg.margin_abs_m)
    return hour, ok


def direction(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal, cfg = ctx.scene, ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    P = pairs(ctx)
    if P.n == 0:
        return
    axis_ok = {ax: np.flatnonzero(margin_ok(cfg, P.d[:, k], P.dist)).tolist() for k, ax in enumerate("xyz")}
    hour, clock_ok = _clock(P, cfg)
    clock_idx = np.flatnonzero(clock_ok).tolist()
    quad_idx = np.flatnonzero(margin_ok(cfg, P.d[:, 0], P.dist) & margin_ok(cfg, P.d[:, 1], P.dist)).tolist()
    dl = P.d.tolist()
    A, B, ids, ex = P.a.tolist(), P.b.tolist(), s.id_list, s.expr
    hours = hour.tolist()
    for fmt, cap in caps.items():
        clock_p = 0.3 if fmt == "free" else (0.5 if fmt == "choice" else -1.0)
        for _ in range(cap):
            tmpl = int(rnd.random() * 3)
            r = rnd.random()
            if r < clock_p:
                if not clock_idx:
                    continue
                p = clock_idx[int(rnd.random() * len(clock_idx))]
                a, b, h = A[p], B[p], hours[p]
                oa, ob = ids[a], ids[b]
                prog = f"answer = clock(o{ob}, o{oa})"
                if fmt == "free":
                    rows.add(task, fmt, question=CLOCK_FREE[tmpl].format(a=ex[a], b=ex[b]),
                             answer=clock(h), object_ids=[oa, ob], program=prog)
                else:
                    pos = bal.letter(4)
                    far = [((h - 1 + k) % 12) + 1 for k in range(2, 11)]
                    ds = sample(rnd, far, 3)
                    opts = place(f"{h} o'clock", [f"{x} o'clock" for x in ds], pos)
                    rows.add(task, fmt, question=choice_question(CLOCK_FREE[tmpl].format(a=ex[a], b=ex[b]), opts),
                             answer=choice(pos, opts), object_ids=[oa, ob], program=prog)
                continue
            if fmt == "choice":
                if not quad_idx:
                    continue
                p = quad_idx[int(rnd.random() * len(quad_idx))]
                a, b, d = A[p], B[p], dl[p]
                oa, ob = ids[a], ids[b]
                label = QUADRANTS[(0 if d[1] < 0 else 2) + (1 if d[0] > 0 else 0)]
                pos = bal.letter(4)
                others = [x for x in QUADRANTS if x != label]
                shuffle(rnd, others)
                opts = place(label, others, pos)
                view, view_cap = _view(rnd, AXIS_VIEW["y"])
                q = choice_question(QUAD_CHOICE[tmpl].format(a=ex[a], b=ex[b], view=view, view_cap=view_cap), opts)
                rows.add(task, fmt, question=q, answer=choice(pos, opts), object_ids=[oa, ob],
                         program=f"answer = quadrant(o{ob}, o{oa})")
                continue
            r = rnd.random()
            ax = "x" if r < 0.45 else ("y" if r < 0.75 else "z")
            cand = axis_ok[ax]
            if not cand:
                continue
            p = cand[int(rnd.random() * len(cand))]
            a, b, d = A[p], B[p], dl[p]
            oa, ob = ids[a], ids[b]
            k = 0 if ax == "x" else (1 if ax == "y" else 2)
            words = AXIS_WORDS[ax]
            actual = words[1 if d[k] > 0 else 0]
            view, view_cap = _view(rnd, AXIS_VIEW[ax])
            if fmt == "free":
                q = AXIS_FREE[tmpl].format(a=ex[a], b=ex[b], choices=AXIS_CHOICES[ax], view=view, view_cap=view_cap)
                rows.add(task, fmt, question=q, answer=label_answer(AXIS_ANSWER[actual], actual), object_ids=[oa, ob],
                         program=f"answer = side(o{ob}, o{oa}, '{ax}')")
            else:
                want = bal.target()
                w = actual if want else words[0 if d[k] > 0 else 1]
                q = AXIS_BOOL[tmpl].format(a=ex[a], b=ex[b], rel=REL_PHRASE[w], view=view, view_cap=view_cap)
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=[oa, ob], program=f"answer = rel(o{ob}, o{oa}, '{w}')")


def direction_vector(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal, cfg = ctx.scene, ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    P = pairs(ctx)
    cand = np.flatnonzero(P.dist >= cfg.min_length_m).tolist()
    if not cand:
        return
    dl, A, B, ids, ex = P.d.tolist(), P.a.tolist(), P.b.tolist(), s.id_list, s.expr
    for fmt, cap in caps.items():
        for _ in range(cap):
            p = cand[int(rnd.random() * len(cand))]
            a, b, t = A[p], B[p], tuple(dl[p])
            oa, ob = ids[a], ids[b]
            frame = GRAVITY_FRAME[int(rnd.random() * 3)]
            fc = frame[:1].upper() + frame[1:]
            tmpl = int(rnd.random() * 3)
            sep = max(2 * cfg.margin_abs_m, 0.15 * math.hypot(*t))
            prog = f"answer = vec(o{oa}, o{ob})"
            if fmt == "free":
                q = VEC_FREE[tmpl].format(a=ex[a], b=ex[b], frame=frame, frame_cap=fc)
                rows.add(task, fmt, question=q, answer=xyz(t, "gravity"), object_ids=[oa, ob], program=prog)
            elif fmt == "choice":
                ds = xyz_distractors(rnd, t, xyz_variants(t), sep)
                if ds is None:
                    continue
                pos = bal.letter(4)
                opts = place(xyz_text(*t), [xyz_text(*x) for x in ds], pos)
                q = choice_question(VEC_FREE[tmpl].format(a=ex[a], b=ex[b], frame=frame, frame_cap=fc), opts)
                rows.add(task, fmt, question=q, answer=choice(pos, opts), object_ids=[oa, ob], program=prog)
            else:
                want = bal.target()
                claim = t
                if not want:
                    ds = xyz_distractors(rnd, t, xyz_variants(t), sep, 1)
                    if ds is None:
                        bal.untarget()
                        continue
                    claim = ds[0]
                q = VEC_BOOL[tmpl].format(a=ex[a], b=ex[b], xyz=xyz_text(*claim), frame=frame, frame_cap=fc)
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=[oa, ob],
                         program=f"answer = near(vec(o{oa}, o{ob}), [{claim[0]:.2f}, {claim[1]:.2f}, {claim[2]:.2f}], {sep / 2:.3f})")


class Length(NamedTuple):
    """A length between objects ``a`` and ``b`` (indices) that the numeric distance tasks ask about."""

    meters: float
    a: int
    b: int
    component: str | None  # one of COMPONENTS, or None for the center-to-center distance


def _length_task(ctx, task: str, caps: dict[str, int], candidates: list, measure: Callable[[Any], Length]) -> None:
    """Shared body of the numeric distance tasks: the value, four values, or a threshold claim."""
    rows, rnd, bal, cfg, s = ctx.rows, ctx.rnd, ctx.bal, ctx.cfg, ctx.scene
    if not candidates:
        return
    ids, exprs = s.id_list, s.expr
    for fmt, cap in caps.items():
        for _ in range(cap):
            measured = measure(candidates[int(rnd.random() * len(candidates))])
            v, comp = measured.meters, measured.component
            oa, ob = ids[measured.a], ids[measured.b]
            ea, eb = exprs[measured.a], exprs[measured.b]
            if rnd.random() < 0.5:
                ea, eb = eb, ea
            unit = pick_unit(rnd, cfg.units, v)
            tmpl = int(rnd.random() * 3)
            if comp is None:
                stem = DIST_FREE[tmpl].format(a=ea, b=eb) + DIST_SUFFIX[unit]
                value = f"dist(o{oa}, o{ob})"
                extra = {}
            else:
                stem = COMP_FREE[comp][tmpl].format(a=ea, b=eb) + COMP_SUFFIX[unit]
                value = f"component(o{oa}, o{ob}, '{comp}')"
                extra = {"component": comp}
            if fmt == "free":
                rows.add(task, fmt, question=stem, answer=length(v, unit, **extra), object_ids=[oa, ob],
                         program=f"answer = {value}")
            elif fmt == "choice":
                pos = bal.letter(4)
                opts = length_options(rnd, cfg, v, unit, pos)
                if opts is None:
                    bal.unletter(pos)
                    continue
                rows.add(task, fmt, question=choice_question(stem, opts), answer=choice(pos, opts, **extra),
                         object_ids=[oa, ob], program=f"answer = {value}")
            else:
                want = bal.target()
                claim = threshold_claim(rnd, cfg, v, want, unit)
                if claim is None:
                    bal.untarget()
                    continue
                if comp is None:
                    q = DIST_BOOL[claim.more][tmpl].format(a=ea, b=eb, t=claim.text)
                else:
                    q = COMP_BOOL[tmpl].format(name=COMP_NAME[comp], cmp="more than" if claim.more else "less than",
                                               a=ea, b=eb, t=claim.text)
                rows.add(task, fmt, question=q + " (Centers, gravity-aligned frame.)", answer=yes_no(want),
                         object_ids=[oa, ob], program=f"answer = {'gt' if claim.more else 'lt'}({value}, {claim.meters:.4f})")


def distance(ctx, task: str, caps: dict[str, int]) -> None:
    P, cfg = pairs(ctx), ctx.cfg
    cand = np.flatnonzero((P.a < P.b) & (P.dist >= cfg.min_length_m)).tolist()
    A, B, D = P.a.tolist(), P.b.tolist(), P.dist.tolist()
    _length_task(ctx, task, caps, cand, lambda p: Length(D[p], A[p], B[p], None))


def distance_component(ctx, task: str, caps: dict[str, int]) -> None:
    P, cfg = pairs(ctx), ctx.cfg
    comp = np.stack([P.hdist, np.abs(P.d[:, 2]), np.abs(P.d[:, 0]), np.abs(P.d[:, 1])], axis=1)  # COMPONENTS
    upper = P.a < P.b
    cand = [(p, k) for k in range(4) for p in np.flatnonzero(upper & (comp[:, k] >= cfg.min_length_m)).tolist()]
    shuffle(ctx.rnd, cand)
    A, B, C = P.a.tolist(), P.b.tolist(), comp.tolist()
    _length_task(ctx, task, caps, cand, lambda pk: Length(C[pk[0]][pk[1]], A[pk[0]], B[pk[0]], COMPONENTS[pk[1]]))


def _clearly_different(cfg, key: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Whether values of property ``key`` differ enough to ask which is greater (the margin rule; volumes
    by ratio), elementwise."""
    if key == "volume":
        lo, hi = np.minimum(x, y), np.maximum(x, y)
        return (hi >= cfg.volume_ratio * lo) & (hi - lo > 0)
    return margin_ok(cfg, x - y, np.maximum(x, y))


class Comparisons:
    """The compared properties of one image's objects, and which pairs differ clearly in each, for all
    pairs at once: compare and rank draw objects at random and look their pair up. (Distances to a
    third object are tested per draw: a table would grow with the cube of the objects.)"""

    def __init__(self, scene, cfg) -> None:
        s = scene
        values = {"height": s.whd[:, 2], "width": s.whd[:, 0], "volume": s.volume, "cam_dist": s.cam_dist}
        self.values = {key: v.tolist() for key, v in values.items()}
        # clear[key][a][b]; sizes only between objects that are neither truncated nor occluded
        both_sized = s.size_ok[:, None] & s.size_ok[None, :]
        self.clear = {key: (_clearly_different(cfg, key, v[:, None], v[None, :])
                            & (both_sized if key in SIZE_KEYS else True)).tolist() for key, v in values.items()}


def comparisons(ctx) -> Comparisons:
    if "comparisons" not in ctx.cache:
        ctx.cache["comparisons"] = Comparisons(ctx.scene, ctx.cfg)
    return ctx.cache["comparisons"]


class Compared(NamedTuple):
    """Objects ``a`` and ``b`` whose values differ clearly; ``c`` the third object when the values are
    distances to it."""

    a: int
    b: int
    c: int | None
    va: float
    vb: float


# compared properties, drawn uniformly; "third" (distances to a third object) twice as often
COMPARE_KEYS = ("height", "width", "volume", "cam_dist", "third", "third")


def _compared(ctx, cmp: Comparisons, key: str) -> Compared | None:
    """Up to 12 draws of two referable objects (and a third for "third") until their values differ clearly."""
    R, rnd = ctx.scene.ref_list, ctx.rnd
    for _ in range(12):
        a, b = sample(rnd, R, 2)
        if key != "third":
            if cmp.clear[key][a][b]:
                return Compared(a, b, None, cmp.values[key][a], cmp.values[key][b])
            continue
        if len(R) < 3:
            return None
        c = R[int(rnd.random() * len(R))]
        if c == a or c == b:
            continue
        centers = ctx.scene.centers
        va, vb = math.dist(centers[a], centers[c]), math.dist(centers[b], centers[c])
        if ctx.cfg.ok(va - vb, max(va, vb)):
            return Compared(a, b, c, va, vb)
    return None


def compare(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal = ctx.scene, ctx.rows, ctx.rnd, ctx.bal
    if len(s.ref_list) < 2:
        return
    ids, ex, cmp = s.id_list, s.expr, comparisons(ctx)
    for fmt, cap in caps.items():
        for _ in range(cap):
            key = COMPARE_KEYS[int(rnd.random() * 6)]
            found = _compared(ctx, cmp, key)
            if found is None:
                continue
            a, b, c, va, vb = found
            oa, ob = ids[a], ids[b]
            greater = rnd.random() < 0.5
            if key == "third":
                oc = ids[c]
                pkey = f"dist:{oc}"
                word = ("farther from " if greater else "closer to ") + ex[c]
                fa, fb = f"dist(o{oa}, o{oc})", f"dist(o{ob}, o{oc})"
                suffix, oids = CMP_SUFFIX["dist"], [oa, ob, oc]
            else:
                pkey = key
                word = PROPS[key][0 if greater else 1]
                fa, fb = f"{key}(o{oa})", f"{key}(o{ob})"
                suffix, oids = CMP_SUFFIX["dist" if key == "cam_dist" else "size"], [oa, ob]
            op = "argmax" if greater else "argmin"
            tmpl = int(rnd.random() * 3)
            if fmt == "free":
                if rnd.random() < 0.5:
                    a, b, oa, ob, va, vb = b, a, ob, oa, vb, va
                win = 1 if (va > vb) == greater else 2
                w = a if win == 1 else b
                q = CMP_FREE[tmpl].format(a=ex[a], b=ex[b], word=word) + suffix
                rows.add(task, fmt, question=q, answer=which_object(ex[w], ids[w], win),
                         object_ids=oids, program=f"answer = {op}('{pkey}', o{oa}, o{ob})")
            elif fmt == "choice":
                pos = bal.letter(2)
                win, lose = (a, b) if (va > vb) == greater else (b, a)
                order = place(win, [lose], pos)
                opts = [s.expr_cap[i] for i in order]
                q = choice_question(CMP_CHOICE[tmpl].format(word=word) + suffix, opts)
                rows.add(task, fmt, question=q, answer=choice(pos, opts, option_ids=[ids[i] for i in order]),
                         object_ids=oids, program=f"answer = {op}('{pkey}', o{ids[order[0]]}, o{ids[order[1]]})")
            else:
                want = bal.target()
                if ((va > vb) == greater) != want:
                    a, b, oa, ob, fa, fb = b, a, ob, oa, fb, fa
                if key == "third":
                    phrase = f"{word} than {ex[b]} is"
                else:
                    phrase = f"{word} than {ex[b]}"
                q = CMP_BOOL[tmpl].format(a=ex[a], b=ex[b], phrase=phrase, word=word) + suffix
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=oids,
                         program=f"answer = {'gt' if greater else 'lt'}({fa}, {fb})")


def _rank_set(ctx, key: str, k: int, full: bool, elig: list[int]) -> list[int] | None:
    """k eligible objects sorted ascending by key (up to 10 draws) whose consecutive values all differ
    clearly (full), or the two lowest and the two highest."""
    if len(elig) < k:
        return None
    cmp = comparisons(ctx)
    value, clear = cmp.values[key], cmp.clear[key]
    checks = [(i, i + 1) for i in range(k - 1)] if full else [(0, 1), (-1, -2)]
    for _ in range(10):
        S = sorted(sample(ctx.rnd, elig, k), key=value.__getitem__)
        if all(clear[S[i]][S[j]] for i, j in checks):
            return S
    return None


def rank(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal = ctx.scene, ctx.rows, ctx.rnd, ctx.bal
    R = s.ref_idx.tolist()
    if len(R) < 3:
        return
    sized = [i for i in R if s.size_ok[i]]
    ids, ex = s.id_list, s.expr
    for fmt, cap in caps.items():
        for _ in range(cap):
            key = ("height", "width", "volume", "cam_dist")[int(rnd.random() * 4)]
            elig = sized if key in SIZE_KEYS else R
            tmpl = int(rnd.random() * 3)
            greater = rnd.random() < 0.5
            suffix = CMP_SUFFIX["dist" if key == "cam_dist" else "size"]
            if fmt == "free" and rnd.random() < 0.5:
                k = 3 + int(rnd.random() * 2)
                S = _rank_set(ctx, key, k, True, elig)
                if S is None:
                    continue
                shown_order = list(S)
                shuffle(rnd, shown_order)
                items = join_and([ex[i] for i in shown_order])
                target = S[::-1] if greater else S
                q = RANK_ORDER[tmpl].format(items=items, words=ORDER_WORDS[key][1 if greater else 0]) + suffix
                args = ", ".join(f"o{ids[i]}" for i in shown_order)
                answer = ordered([ex[i] for i in target], [ids[i] for i in target])
                rows.add(task, fmt, question=q, answer=answer, object_ids=[ids[i] for i in shown_order],
                         program=f"answer = order('{'-' if greater else ''}{key}', {args})")
                continue
            k = 4 if fmt == "choice" else 3 + int(rnd.random() * 3)
            S = _rank_set(ctx, key, k, False, elig)
            if S is None:
                continue
            win = S[-1] if greater else S[0]
            others = [i for i in S if i != win]
            shuffle(rnd, others)
            sup = SUPER[key][0 if greater else 1]
            op = "argmax" if greater else "argmin"
            if fmt == "choice":
                pos = bal.letter(4)
                order = place(win, others, pos)
                opts = [s.expr_cap[i] for i in order]
                q = choice_question(RANK_CHOICE[tmpl].format(sup=sup) + suffix, opts)
                rows.add(task, fmt, question=q, answer=choice(pos, opts, option_ids=[ids[i] for i in order]),
                         object_ids=[ids[i] for i in order], program=f"answer = {op}('{key}', {', '.join(f'o{ids[i]}' for i in order)})")
                continue
            order = place(win, others, int(rnd.random() * k))
            items = join_and([ex[i] for i in order])
            args = ", ".join(f"o{ids[i]}" for i in order)
            if fmt == "free":
                pos = order.index(win) + 1
                q = RANK_SUPER[tmpl].format(items=items, sup=sup) + suffix
                rows.add(task, fmt, question=q, answer=which_object(ex[win], ids[win], pos),
                         object_ids=[ids[i] for i in order], program=f"answer = {op}('{key}', {args})")
            else:
                want = bal.target()
                x = win if want else others[int(rnd.random() * len(others))]
                q = RANK_BOOL[tmpl].format(x=ex[x], items=items, sup=sup) + suffix
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=[ids[i] for i in order],
                         program=f"answer = eq({op}('{key}', {args}), {order.index(x) + 1})")


# question templates compiled once (text.Template): the same text as str.format, without re-parsing
AXIS_FREE = templates(AXIS_FREE)
AXIS_BOOL = templates(AXIS_BOOL)
CLOCK_FREE = templates(CLOCK_FREE)
QUAD_CHOICE = templates(QUAD_CHOICE)
VEC_FREE = templates(VEC_FREE)
VEC_BOOL = templates(VEC_BOOL)
DIST_FREE = templates(DIST_FREE)
DIST_BOOL = templates(DIST_BOOL)
COMP_FREE = templates(COMP_FREE)
CMP_FREE = templates(CMP_FREE)
CMP_CHOICE = templates(CMP_CHOICE)
CMP_BOOL = templates(CMP_BOOL)
RANK_ORDER = templates(RANK_ORDER)
RANK_SUPER = templates(RANK_SUPER)
RANK_CHOICE = templates(RANK_CHOICE)
RANK_BOOL = templates(RANK_BOOL)
COMP_BOOL = templates(COMP_BOOL)
