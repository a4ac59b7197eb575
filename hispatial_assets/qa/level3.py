"""L3 reasoning: perspective taking, counting under spatial constraints, multi-step problems.

Perspective: the viewer object stands at its center facing its front (front yaw); X is to its left
when X's offset has a negative component along the viewer's right (sin f, -cos f), in front when
positive along (cos f, sin f). Counting: objects with the label (other than the anchor) within r
(center to center) or on one side of the anchor (camera view); every counted or uncounted
candidate passes the margin. Multi-step problems are programs (see `program`) whose answer is the
program's value; their reasoning text walks through the steps.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from hispatial_assets.qa.answers import choice, choice_question, count, label_answer, length, place, which_object, xyz_text, yes_no
from hispatial_assets.qa.level2 import REL_PHRASE, margin_ok
from hispatial_assets.qa.options import length_options, threshold_claim
from hispatial_assets.qa.program import QUADRANTS
from hispatial_assets.qa.rand import sample, shuffle
from hispatial_assets.qa.text import CAMERA_VIEW, UNIT_HINT, plural, templates
from hispatial_assets.qa.units import length_text, pick_unit, shown

PERSP_FREE = {
    "lr": ("From the viewpoint of {o}, facing the way it faces, is {x} on its left or on its right?",
           "Imagine you are {o}, looking where its front points. Is {x} to your left or to your right?",
           "Taking the perspective of {o} (facing its front), is {x} on the left or on the right?"),
    "fb": ("From the viewpoint of {o}, facing the way it faces, is {x} in front of it or behind it?",
           "Imagine you are {o}, looking where its front points. Is {x} in front of you or behind you?",
           "Taking the perspective of {o} (facing its front), is {x} ahead or behind?"),
}
PERSP_ANSWER = {"left": "On its left.", "right": "On its right.", "in front": "In front of it.", "behind": "Behind it."}
PERSP_CHOICE = ("From the viewpoint of {o}, facing its front, where is {x}?",
                "Imagine you are {o}, looking where its front points. Where is {x}?",
                "Taking the perspective of {o} (facing its front), {x} is:")
PERSP_BOOL = ("From the viewpoint of {o}, facing the way it faces, is {x} {phrase}?",
              "Imagine you are {o}, looking where its front points. Is {x} {phrase}?",
              "Taking the perspective of {o} (facing its front), is {x} {phrase}?")
PERSP_PHRASE = {"left": "to its left", "right": "to its right", "in front": "in front of it", "behind": "behind it"}
PERSP_SUFFIX = " (Its own frame: gravity-aligned, facing its front.)"

COUNT_WITHIN = ("How many {things} are within {r} of {a}?", "Count the {things} less than {r} away from {a}.",
                "Within {r} of {a}, how many {things} are there?")
COUNT_REL = ("How many {things} are {rel} {a}, {view}?", "Count the {things} located {rel} {a}, {view}.",
             "{view_cap}, how many {things} are {rel} {a}?")
COUNT_BOOL_WITHIN = ("Are there exactly {k} {things} within {r} of {a}?", "Is the number of {things} within {r} of {a} exactly {k}?",
                     "Within {r} of {a}, are there exactly {k} {things}?")
COUNT_BOOL_REL = ("Are there exactly {k} {things} {rel} {a}, {view}?", "Is the number of {things} {rel} {a} exactly {k}, {view}?",
                  "{view_cap}, are there exactly {k} {things} {rel} {a}?")
COUNT_SUFFIX = {"within": " (3D center-to-center distances, gravity-aligned frame.)", "rel": ""}
RADII = {"m": (1.0, 1.5, 2.0, 3.0), "cm": (1.0, 1.5, 2.0), "in": (0.9144, 1.2192, 1.8288), "ft": (0.9144, 1.524, 2.1336, 3.048)}

MOVES = {"to the right": (1, 0, 0), "to the left": (-1, 0, 0), "toward the camera": (0, -1, 0),
         "away from the camera": (0, 1, 0)}
AMOUNTS = {"m": (0.5, 1.0, 1.5, 2.0), "cm": (0.5, 1.0, 1.5), "in": (0.508, 0.9144), "ft": (0.6096, 0.9144, 1.524)}
MOVE_SUFFIX = " (Directions as seen from the camera in the gravity-aligned frame; center-to-center distances.)"
FIT_X = ("Could {x} fit in the gap between {y} and {z}, turned to its narrowest side?",
         "Is there enough room between {y} and {z} to slide {x} through, narrow side first?",
         "Would {x} fit between {y} and {z} if turned sideways?")
FIT_W = ("Would a box {w} wide fit through the gap between {y} and {z}?",
         "Is the free space between {y} and {z} wider than {w}?",
         "Could an object {w} across pass between {y} and {z}?")
FIT_SUFFIX = " (Footprints of the 3D boxes on the horizontal plane of the gravity-aligned frame.)"
ROOM = ("If {x} were placed between {y} and {z}, narrow side first, how much free space would remain?",
        "How much room would be left in the gap between {y} and {z} after putting {x} there sideways?",
        "Suppose {x} is slid, narrowest side first, into the gap between {y} and {z}. How much clearance is left in total?")
NEAREST = ("If {x} moved {amt} {dirn}, which object would be nearest to it?",
           "Suppose {x} is shifted {amt} {dirn}. Which object would then be closest to it?",
           "After moving {x} {amt} {dirn}, what would be the nearest object to it?")
NEAREST_CHOICE = ("If {x} moved {amt} {dirn}, which of these would be nearest to it?",
                  "Suppose {x} is shifted {amt} {dirn}. Which of these objects would then be closest to it?",
                  "After moving {x} {amt} {dirn}, which of the following would be nearest to it?")
MOVEDIST = ("If {x} moved {amt} {dirn}, how far would it be from {y}?",
            "Suppose {x} is shifted {amt} {dirn}. What would its distance to {y} be?",
            "After moving {x} {amt} {dirn}, how far apart would it and {y} be?")
MOVEDIST_BOOL = ("If {x} moved {amt} {dirn}, would it be {cmp} {t} from {y}?",
                 "Suppose {x} is shifted {amt} {dirn}. Would it then be {cmp} {t} away from {y}?",
                 "After moving {x} {amt} {dirn}, would its distance to {y} be {cmp} {t}?")
CLOSER = ("If {x} moved {amt} {dirn}, would it be closer to {y} than to {z}?",
          "Suppose {x} is shifted {amt} {dirn}. Would it then be nearer to {y} than to {z}?",
          "After moving {x} {amt} {dirn}, is {y} closer to it than {z}?")


def perspective(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal, cfg = ctx.scene, ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    R = s.ref_idx
    V = R[s.has_front[R]]
    if len(V) == 0 or len(R) < 2:
        return
    # every (viewer, other object) pair: viewers have a known front
    v, x = (grid.ravel() for grid in np.meshgrid(V, R, indexing="ij"))
    keep = v != x
    v, x = v[keep], x[keep]
    d = s.center[x] - s.center[v]
    f = s.front[v]
    fwd = d[:, 0] * np.cos(f) + d[:, 1] * np.sin(f)
    right = d[:, 0] * np.sin(f) - d[:, 1] * np.cos(f)
    scale = np.linalg.norm(d, axis=1)
    ok_lr, ok_fb = margin_ok(cfg, right, scale), margin_ok(cfg, fwd, scale)
    cand = {"lr": np.flatnonzero(ok_lr).tolist(), "fb": np.flatnonzero(ok_fb).tolist(),
            "quad": np.flatnonzero(ok_lr & ok_fb).tolist()}
    viewers, targets, ahead, to_right = v.tolist(), x.tolist(), fwd.tolist(), right.tolist()
    ids, ex = s.id_list, s.expr
    for fmt, cap in caps.items():
        for _ in range(cap):
            kind = "quad" if fmt == "choice" else ("lr" if rnd.random() < 0.6 else "fb")
            c = cand[kind]
            if not c:
                continue
            p = c[int(rnd.random() * len(c))]
            vi, xi = viewers[p], targets[p]
            ov, ox = ids[vi], ids[xi]
            lr = "right" if to_right[p] > 0 else "left"
            fb = "in front" if ahead[p] > 0 else "behind"
            tmpl = int(rnd.random() * 3)
            if fmt == "free":
                label = lr if kind == "lr" else fb
                q = PERSP_FREE[kind][tmpl].format(o=ex[vi], x=ex[xi]) + PERSP_SUFFIX
                rows.add(task, fmt, question=q, answer=label_answer(PERSP_ANSWER[label], label), object_ids=[ov, ox],
                         program=f"answer = pside(o{ox}, o{ov}, '{kind}')")
            elif fmt == "choice":
                label = QUADRANTS[(0 if fb == "in front" else 2) + (1 if lr == "right" else 0)]
                pos = bal.letter(4)
                others = [q for q in QUADRANTS if q != label]
                shuffle(rnd, others)
                opts = place(label, others, pos)
                q = choice_question(PERSP_CHOICE[tmpl].format(o=ex[vi], x=ex[xi]) + PERSP_SUFFIX, opts)
                rows.add(task, fmt, question=q, answer=choice(pos, opts), object_ids=[ov, ox],
                         program=f"answer = pquadrant(o{ox}, o{ov})")
            else:
                want = bal.target()
                actual = lr if kind == "lr" else fb
                w = actual if want else {"left": "right", "right": "left", "in front": "behind", "behind": "in front"}[actual]
                q = PERSP_BOOL[tmpl].format(o=ex[vi], x=ex[xi], phrase=PERSP_PHRASE[w]) + PERSP_SUFFIX
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=[ov, ox], program=f"answer = prel(o{ox}, o{ov}, '{w}')")


class CountQuery(NamedTuple):
    """How many objects labelled ``label`` (other than the anchor) are within ``radius_m`` of the anchor,
    or on its ``side``; ``members``: the indices of every such labelled object, counted or not."""

    anchor: int
    label: str
    kind: str  # "within" or "rel"
    radius_m: float | None  # as shown
    radius_text: str | None
    side: str | None  # "left", "right", "in front", "behind"
    count: int
    members: list[int]


def _count_query(ctx) -> CountQuery | None:
    """Up to 12 draws of an anchor, a label and a constraint until no candidate is near the boundary."""
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    R, C = s.ref_list, s.centers
    if s.n < 2:
        return None
    for _ in range(12):
        a = R[int(rnd.random() * len(R))]
        j = int(rnd.random() * (s.n - 1))  # the j-th object other than a
        label = s.labels[j if j < a else j + 1]
        members = [i for i in s.by_label[label] if i != a]
        ax, ay, az = C[a]
        offsets = [(C[i][0] - ax, C[i][1] - ay, C[i][2] - az) for i in members]
        dist = [math.sqrt(dx * dx + dy * dy + dz * dz) for dx, dy, dz in offsets]
        if rnd.random() < 0.5:
            unit = pick_unit(rnd, cfg.units, 2.0)
            radii = RADII[unit]
            _, r_m = shown(radii[int(rnd.random() * len(radii))], unit)
            if all(cfg.ok(x - r_m, max(x, r_m)) for x in dist):
                n = sum(1 for x in dist if x < r_m)
                return CountQuery(a, label, "within", r_m, length_text(r_m, unit), None, n, members)
        else:
            side = ("left", "right", "in front", "behind")[int(rnd.random() * 4)]
            along = [o[0 if side in ("left", "right") else 1] for o in offsets]  # x, or y (farther = behind)
            if all(cfg.ok(c, x) for c, x in zip(along, dist)):
                n = sum(1 for c in along if (-c if side in ("left", "in front") else c) > 0)
                return CountQuery(a, label, "rel", None, None, side, n, members)
    return None


def count_constrained(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal = ctx.scene, ctx.rows, ctx.rnd, ctx.bal
    if len(s.ref_idx) == 0 or s.n < 2:
        return
    ids, ex = s.id_list, s.expr
    for fmt, cap in caps.items():
        for _ in range(cap):
            query = _count_query(ctx)
            if query is None:
                continue
            a, label, n = query.anchor, query.label, query.count
            things = ("other " if label == s.labels[a] else "") + plural(label)
            tmpl = int(rnd.random() * 3)
            view = CAMERA_VIEW[int(rnd.random() * 3)]
            fields = dict(things=things, a=ex[a], r=query.radius_text, rel=REL_PHRASE.get(query.side, ""), view=view,
                          view_cap=view[:1].upper() + view[1:])
            if query.kind == "within":
                call = f"count_within({label!r}, o{ids[a]}, {query.radius_m:.4f})"
                stem = COUNT_WITHIN[tmpl].format(**fields) + COUNT_SUFFIX["within"]
            else:
                call = f"count_rel({label!r}, o{ids[a]}, '{query.side}')"
                stem = COUNT_REL[tmpl].format(**fields)
            oids = [ids[a]] + [ids[i] for i in query.members]
            if fmt == "free":
                rows.add(task, fmt, question=stem, answer=count(n), object_ids=oids, program=f"answer = {call}")
            elif fmt == "choice":
                pos = bal.letter(4)
                pool = [k for k in range(max(0, n - 3), n + 4) if k != n]
                ds = sorted(sample(rnd, pool, 3))
                opts = place(str(n), [str(k) for k in ds], pos)
                rows.add(task, fmt, question=choice_question(stem, opts), answer=choice(pos, opts), object_ids=oids,
                         program=f"answer = {call}")
            else:
                want = bal.target()
                k = n if want else (n + 1 if n == 0 or rnd.random() < 0.5 else n - 1)
                tb = COUNT_BOOL_WITHIN if query.kind == "within" else COUNT_BOOL_REL
                q = tb[tmpl].format(k=k, **fields) + COUNT_SUFFIX[query.kind]
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=oids, program=f"answer = eq({call}, {k})")


# ----------------------------------------------------------------------------------------------
# multi-step problems

class Move(NamedTuple):
    """Moving an object by ``amount`` in ``direction`` (as seen from the camera)."""

    direction: str  # a key of MOVES
    amount: str  # as the question says it: "1.5 m", "3.0 feet"
    vector: tuple[float, float, float]  # gravity frame, meters (of the amount as shown)
    stated: tuple[float, float, float]  # the vector as the program states it (4 decimals): what `moved` computes with
    unit: str


def _make_move(unit: str, amount: float, direction: str) -> Move:
    _, meters = shown(amount, unit)
    vector = tuple(meters * c for c in MOVES[direction])
    return Move(direction, length_text(meters, unit), vector, tuple(float(f"{v:.4f}") for v in vector), unit)


# every move a question can ask, built once: MOVE_TABLE[unit][amount index][direction index]
MOVE_TABLE = {unit: [[_make_move(unit, amount, direction) for direction in MOVES] for amount in amounts]
              for unit, amounts in AMOUNTS.items()}


def _move(rnd, units: str) -> Move:
    """A unit (as `pick_unit` draws it), then an amount, then a direction."""
    table = MOVE_TABLE[pick_unit(rnd, units, 1.0)]
    return table[int(rnd.random() * len(table))][int(rnd.random() * len(MOVES))]


def _moved_program(object_id: int, move: Move) -> str:
    x, y, z = move.vector
    return f"p = moved(o{object_id}, {x:.4f}, {y:.4f}, {z:.4f})"


_meters = "{:.2f} m".format  # _meters(value): "1.23 m"


def _shift(c, vec):
    return (c[0] + vec[0], c[1] + vec[1], c[2] + vec[2])


def _dist(p, q) -> float:
    """|q - p|, summed as `program.Executor` (np.linalg.norm) sums it, so answers equal program values."""
    dx, dy, dz = q[0] - p[0], q[1] - p[1], q[2] - p[2]
    return math.sqrt(dx * dx + dy * dy + dz * dz)


def _half_extent(s, i: int, u0: float, u1: float) -> float:
    c, sn = s.cos_yaw[i], s.sin_yaw[i]
    w, d = s.extents[i][0], s.extents[i][1]
    return abs(u0 * c + u1 * sn) * w / 2 + abs(-u0 * sn + u1 * c) * d / 2


class Problem(NamedTuple):
    """One multi-step problem: its question, program (whose value is the answer), worked steps and objects."""

    question: str
    program: str
    reasoning: str
    object_ids: list[int]
    value: float | None = None  # the answer of a numeric problem


def _fit(ctx, want: bool) -> Problem | None:
    """Boolean: would X (or a box w wide) fit in the gap between Y and Z."""
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    R = s.ref_list
    ids, ex, C, G, fp = s.id_list, s.expr, s.centers, s.gap_matrix(), s.footprint_min
    for _ in range(10):
        y, z = sample(rnd, R, 2)
        g = G[y][z]
        if g < 0.3:
            continue
        oy, oz = ids[y], ids[z]
        dx, dy = C[z][0] - C[y][0], C[z][1] - C[y][1]
        hd = math.hypot(dx, dy)
        nd = max(1e-9, hd)
        u0, u1 = dx / nd, dy / nd
        hy, hz = _half_extent(s, y, u0, u1), _half_extent(s, z, -u0, -u1)
        step1 = (f"Step 1: {s.expr_cap[y]} and {ex[z]} are {_meters(hd)} apart horizontally; they extend "
                 f"{_meters(hy)} and {_meters(hz)} toward each other, leaving a gap of {_meters(g)}.")
        xs = [i for i in R if i != y and i != z and s.sized[i]
              and (fp[i] < g) == want and cfg.ok(g - fp[i], max(g, fp[i]))]
        tmpl = int(rnd.random() * 3)
        fits = "fits" if want else "does not fit"
        if xs and rnd.random() < 0.7:
            x = xs[int(rnd.random() * len(xs))]
            w = fp[x]
            return Problem(
                FIT_X[tmpl].format(x=ex[x], y=ex[y], z=ex[z]) + FIT_SUFFIX,
                f"g = gap(o{oy}, o{oz})\nw = footprint_min(o{ids[x]})\nanswer = gt(g, w)",
                "\n".join([step1, f"Step 2: {s.expr_cap[x]} is {_meters(w)} across at its narrowest.",
                           f"Step 3: {_meters(g)} {'>' if want else '<'} {_meters(w)}, so it {fits}."]),
                [oy, oz, ids[x]])
        claim = threshold_claim(rnd, cfg, g, want, pick_unit(rnd, cfg.units, g), floor=0.05)
        if claim is None:
            continue
        w = claim.meters  # a box fits when the gap is more than its width
        if (g > w) != want or (g > float(f"{w:.4f}")) != want:  # the program's value must be the answer too
            continue
        return Problem(
            FIT_W[tmpl].format(w=claim.text, y=ex[y], z=ex[z]) + FIT_SUFFIX,
            f"g = gap(o{oy}, o{oz})\nanswer = gt(g, {w:.4f})",
            "\n".join([step1, f"Step 2: {_meters(g)} {'>' if want else '<'} {claim.text}, so it {fits}."]),
            [oy, oz])
    return None


class MovedPair(NamedTuple):
    """Object ``x`` moved: its new center ``p`` and its distance ``d`` from object ``y``."""

    x: int
    y: int
    move: Move
    p: tuple[float, float, float]
    d: float


def _moved_pair(ctx) -> MovedPair:
    s, rnd = ctx.scene, ctx.rnd
    x, y = sample(rnd, s.ref_list, 2)
    move = _move(rnd, ctx.cfg.units)
    p = _shift(s.centers[x], move.vector)
    return MovedPair(x, y, move, p, _dist(p, s.centers[y]))


def _move_distance_claim(ctx, tmpl: int, want: bool) -> Problem | None:
    """Boolean: after X moves, is it more (or less) than a threshold from Y."""
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    ids, ex, C = s.id_list, s.expr, s.centers
    x, y, move, p, d = _moved_pair(ctx)
    claim = threshold_claim(rnd, cfg, d, want, move.unit)
    if claim is None or d < cfg.min_length_m:
        return None
    stated_d, stated_t = _dist(_shift(C[x], move.stated), C[y]), float(f"{claim.meters:.4f}")
    if ((stated_d > stated_t) if claim.more else (stated_d < stated_t)) is not want:
        return None
    cmp = "more than" if claim.more else "less than"
    return Problem(
        MOVEDIST_BOOL[tmpl].format(x=ex[x], y=ex[y], amt=move.amount, dirn=move.direction, t=claim.text, cmp=cmp)
        + MOVE_SUFFIX,
        f"{_moved_program(ids[x], move)}\nd = dist(p, o{ids[y]})\nanswer = {'gt' if claim.more else 'lt'}(d, {claim.meters:.4f})",
        (f"Step 1: Moving {ex[x]} {move.amount} {move.direction} puts its center at {xyz_text(*p)} m.\n"
         f"Step 2: Its distance to {ex[y]} would be {_meters(d)}.\n"
         f"Step 3: {_meters(d)} is {'more' if d > claim.meters else 'less'} than {claim.text}, so {'yes' if want else 'no'}."),
        [ids[x], ids[y]])


def _move_closer(ctx, tmpl: int, want: bool) -> Problem | None:
    """Boolean: after X moves, is it closer to Y than to Z."""
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    ids, ex, C = s.id_list, s.expr, s.centers
    x, y, z = sample(rnd, s.ref_list, 3)
    move = _move(rnd, cfg.units)
    p = _shift(C[x], move.vector)
    dy, dz = _dist(p, C[y]), _dist(p, C[z])
    if not cfg.ok(dy - dz, max(dy, dz)):
        return None
    if (dy < dz) != want:
        y, z, dy, dz = z, y, dz, dy
    stated = _shift(C[x], move.stated)
    if (_dist(stated, C[y]) < _dist(stated, C[z])) is not want:
        return None
    return Problem(
        CLOSER[tmpl].format(x=ex[x], y=ex[y], z=ex[z], amt=move.amount, dirn=move.direction) + MOVE_SUFFIX,
        f"{_moved_program(ids[x], move)}\na = dist(p, o{ids[y]})\nb = dist(p, o{ids[z]})\nanswer = lt(a, b)",
        (f"Step 1: Moving {ex[x]} {move.amount} {move.direction} puts its center at {xyz_text(*p)} m.\n"
         f"Step 2: From there, {ex[y]} is {_meters(dy)} away.\n"
         f"Step 3: From there, {ex[z]} is {_meters(dz)} away.\n"
         f"Step 4: {_meters(dy)} {'<' if dy < dz else '>'} {_meters(dz)}, so {'yes' if want else 'no'}."),
        [ids[x], ids[y], ids[z]])


def _room(ctx) -> Problem | None:
    """Numeric: the room left in the gap between Y and Z with X in it, narrow side first."""
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    R = s.ref_list
    ids, ex, G, fp = s.id_list, s.expr, s.gap_matrix(), s.footprint_min
    xs = [i for i in R if s.sized[i]]
    if len(R) < 3 or not xs:
        return None
    for _ in range(10):
        y, z = sample(rnd, R, 2)
        x = xs[int(rnd.random() * len(xs))]
        if x == y or x == z:
            continue
        g = G[y][z]
        w = fp[x]
        if g - w < cfg.min_length_m:
            continue
        steps = [f"Step 1: The gap between the footprints of {ex[y]} and {ex[z]} is {_meters(g)}.",
                 f"Step 2: {s.expr_cap[x]} is {_meters(w)} across at its narrowest.",
                 f"Step 3: {_meters(g)} - {_meters(w)} = {_meters(g - w)} of free space remains."]
        return Problem(ROOM[int(rnd.random() * 3)].format(x=ex[x], y=ex[y], z=ex[z]) + FIT_SUFFIX,
                       f"g = gap(o{ids[y]}, o{ids[z]})\nw = footprint_min(o{ids[x]})\nanswer = sub(g, w)",
                       "\n".join(steps), [ids[y], ids[z], ids[x]], g - w)
    return None


def _move_distance(ctx, tmpl: int) -> Problem | None:
    """Numeric: how far X would be from Y after moving."""
    s, cfg = ctx.scene, ctx.cfg
    ids, ex, C = s.id_list, s.expr, s.centers
    x, y, move, p, d = _moved_pair(ctx)
    if d < cfg.min_length_m:
        return None
    return Problem(MOVEDIST[tmpl].format(x=ex[x], y=ex[y], amt=move.amount, dirn=move.direction) + MOVE_SUFFIX,
                   f"{_moved_program(ids[x], move)}\nanswer = dist(p, o{ids[y]})",
                   (f"Step 1: Moving {ex[x]} {move.amount} {move.direction} puts its center at {xyz_text(*p)} m.\n"
                    f"Step 2: The distance from there to the center of {ex[y]} is {_meters(d)}."),
                   [ids[x], ids[y]], _dist(_shift(C[x], move.stated), C[y]))


class Nearest(NamedTuple):
    """After ``mover`` moves, ``winner`` is the nearest of ``candidates`` (object indices)."""

    mover: int
    move: Move
    winner: int
    candidates: list[int]
    reasoning: str


def _nearest(ctx, n_options: int | None) -> Nearest | None:
    """X moved; the nearest object among all others (free) or among n options (choice)."""
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    R = s.ref_list
    ex, C = s.expr, s.centers
    for _ in range(10):
        x = R[int(rnd.random() * len(R))]
        move = _move(rnd, cfg.units)
        p = _shift(C[x], move.vector)
        if n_options is None:
            cands = [i for i in range(s.n) if i != x]
        else:
            others = [i for i in R if i != x]
            if len(others) < n_options:
                return None
            cands = sample(rnd, others, n_options)
        if len(cands) < 2:
            return None
        dist = [_dist(p, C[i]) for i in cands]
        o = sorted(range(len(cands)), key=dist.__getitem__)
        d0, d1 = dist[o[0]], dist[o[1]]
        if not cfg.ok(d1 - d0, d1) or not s.referable[cands[o[0]]]:
            continue
        # the program moves by the vector as stated; the margin keeps the winner the same
        stated = _shift(C[x], move.stated)
        stated_dist = [_dist(stated, C[i]) for i in cands]
        if min(range(len(cands)), key=stated_dist.__getitem__) != o[0]:
            continue
        win = cands[o[0]]
        listed = ", ".join(f"{ex[cands[k]]} {_meters(dist[k])}" for k in o[:4])
        steps = [f"Step 1: {s.expr_cap[x]} is at {xyz_text(*C[x])} m; moving it {move.amount} {move.direction} puts it "
                 f"at {xyz_text(*p)} m.",
                 f"Step 2: Distances from there: {listed}{', ...' if len(o) > 4 else ''}.",
                 f"Step 3: The nearest is {ex[win]}."]
        return Nearest(x, move, win, cands, "\n".join(steps))
    return None


def multi_step(ctx, task: str, caps: dict[str, int]) -> None:
    """Answers are the values of the programs (computed as `program.Executor` would: the move
    vector as stated, center-to-center distances, footprint gaps), so every row verifies."""
    s, rows, rnd, bal, cfg = ctx.scene, ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    if len(s.ref_idx) < 3:
        return
    ids, ex = s.id_list, s.expr
    for fmt, cap in caps.items():
        for _ in range(cap):
            tmpl = int(rnd.random() * 3)
            r = rnd.random()
            if fmt == "boolean":
                want = bal.target()
                if r < 0.5:
                    problem = _fit(ctx, want)
                elif r < 0.75:
                    problem = _move_distance_claim(ctx, tmpl, want)
                else:
                    problem = _move_closer(ctx, tmpl, want)
                if problem is None:
                    bal.untarget()
                    continue
                rows.add(task, fmt, question=problem.question, answer=yes_no(want), object_ids=problem.object_ids,
                         program=problem.program, reasoning=problem.reasoning)
            elif r < 2 / 3:  # a length: free, or four values
                room = r < 1 / 3
                problem = _room(ctx) if room else _move_distance(ctx, tmpl)
                if problem is None:
                    continue
                unit = pick_unit(rnd, cfg.units, problem.value)
                hint = f" Answer {UNIT_HINT[unit]}."
                # the unit hint goes before the room question's parenthesized note, after the others
                q = problem.question.replace(" (", hint + " (", 1) if room else problem.question + hint
                if fmt == "free":
                    rows.add(task, fmt, question=q, answer=length(problem.value, unit), object_ids=problem.object_ids,
                             program=problem.program, reasoning=problem.reasoning)
                    continue
                pos = bal.letter(4)
                opts = length_options(rnd, cfg, problem.value, unit, pos)
                if opts is None:
                    bal.unletter(pos)
                    continue
                rows.add(task, fmt, question=choice_question(q, opts), answer=choice(pos, opts),
                         object_ids=problem.object_ids, program=problem.program, reasoning=problem.reasoning)
            else:  # the nearest object after a move
                nearest = _nearest(ctx, 4 if fmt == "choice" else None)
                if nearest is None:
                    continue
                x, move, win = nearest.mover, nearest.move, nearest.winner
                moved = _moved_program(ids[x], move)
                if fmt == "choice":
                    pos = bal.letter(4)
                    order = place(win, [c for c in nearest.candidates if c != win], pos)
                    opts = [s.expr_cap[i] for i in order]
                    stem = NEAREST_CHOICE[tmpl].format(x=ex[x], amt=move.amount, dirn=move.direction) + MOVE_SUFFIX
                    rows.add(task, fmt, question=choice_question(stem, opts),
                             answer=choice(pos, opts, option_ids=[ids[i] for i in order]),
                             object_ids=[ids[x]] + [ids[i] for i in order],
                             program=f"{moved}\nanswer = nearest(p, {', '.join(f'o{ids[i]}' for i in order)})",
                             reasoning=nearest.reasoning)
                else:
                    cands = nearest.candidates
                    rows.add(task, fmt, question=NEAREST[tmpl].format(x=ex[x], amt=move.amount, dirn=move.direction) + MOVE_SUFFIX,
                             answer=which_object(ex[win], ids[win], cands.index(win) + 1), object_ids=[ids[x], ids[win]],
                             program=f"{moved}\nanswer = nearest(p, {', '.join(f'o{ids[i]}' for i in cands)})",
                             reasoning=nearest.reasoning)


# question templates compiled once (text.Template): the same text as str.format, without re-parsing
PERSP_FREE = templates(PERSP_FREE)
PERSP_CHOICE = templates(PERSP_CHOICE)
PERSP_BOOL = templates(PERSP_BOOL)
COUNT_WITHIN = templates(COUNT_WITHIN)
COUNT_REL = templates(COUNT_REL)
COUNT_BOOL_WITHIN = templates(COUNT_BOOL_WITHIN)
COUNT_BOOL_REL = templates(COUNT_BOOL_REL)
FIT_X = templates(FIT_X)
FIT_W = templates(FIT_W)
ROOM = templates(ROOM)
NEAREST = templates(NEAREST)
NEAREST_CHOICE = templates(NEAREST_CHOICE)
MOVEDIST = templates(MOVEDIST)
MOVEDIST_BOOL = templates(MOVEDIST_BOOL)
CLOSER = templates(CLOSER)
