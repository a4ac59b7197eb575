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

import numpy as np

from hispatial_assets.qa.answers import choice, choice_question, count, label_answer, length, place, which_object, xyz_text, yes_no
from hispatial_assets.qa.level2 import REL_PHRASE
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
    # np.meshgrid(V, R, indexing="ij"), flattened, without its Python overhead
    v, x = V.repeat(len(R)), np.broadcast_to(R, (len(V), len(R))).ravel()
    keep = v != x
    v, x = v[keep], x[keep]
    d = s.center[x] - s.center[v]
    f = s.front[v]
    fwd = d[:, 0] * np.cos(f) + d[:, 1] * np.sin(f)
    right = d[:, 0] * np.sin(f) - d[:, 1] * np.cos(f)
    scale = np.linalg.norm(d, axis=1)
    thr = np.maximum(cfg.margin_abs_m, cfg.margin_rel * scale)
    ok_lr, ok_fb = np.abs(right) >= thr, np.abs(fwd) >= thr
    cand = {"lr": np.flatnonzero(ok_lr).tolist(), "fb": np.flatnonzero(ok_fb).tolist(),
            "quad": np.flatnonzero(ok_lr & ok_fb).tolist()}
    V_, X_, F_, R_ = v.tolist(), x.tolist(), fwd.tolist(), right.tolist()
    ids, ex = s.id_list, s.expr
    for fmt, cap in caps.items():
        for _ in range(cap):
            kind = "quad" if fmt == "choice" else ("lr" if rnd.random() < 0.6 else "fb")
            c = cand[kind]
            if not c:
                continue
            p = c[int(rnd.random() * len(c))]
            vi, xi = V_[p], X_[p]
            ov, ox = ids[vi], ids[xi]
            lr = "right" if R_[p] > 0 else "left"
            fb = "in front" if F_[p] > 0 else "behind"
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


def _count_query(ctx):
    """(anchor, label, kind, param, shown text, count, member indices) with no candidate near the boundary."""
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    R = s.ref_list
    n_all = s.n
    if n_all < 2:
        return None
    C, labels, by_label = s.C, s.labels, s.by_label
    m_abs, m_rel = cfg.margin_abs_m, cfg.margin_rel
    random = rnd.random
    for _ in range(12):
        a = R[int(random() * len(R))]
        j = int(random() * (n_all - 1))  # the j-th object other than a
        label = labels[j if j < a else j + 1]
        members = [i for i in by_label[label] if i != a]
        ax, ay, az = C[a]
        offs = [(C[i][0] - ax, C[i][1] - ay, C[i][2] - az) for i in members]
        dist = [math.sqrt(dx * dx + dy * dy + dz * dz) for dx, dy, dz in offs]
        if random() < 0.5:
            unit = pick_unit(rnd, cfg.units, 2.0)
            radii = RADII[unit]
            r_text, r_m = shown(radii[int(random() * len(radii))], unit)
            for x in dist:  # every distance passes the margin around r_m
                lim = m_rel * abs(max(x, r_m))
                if not abs(x - r_m) >= (lim if lim > m_abs else m_abs):  # noqa: FURB136 (max() exactly, inlined)
                    break
            else:
                n = sum(1 for x in dist if x < r_m)
                return a, label, "within", r_m, length_text(r_m, unit), n, members
        else:
            w = ("left", "right", "in front", "behind")[int(random() * 4)]
            k = 0 if w in ("left", "right") else 1
            comp = [o[k] for o in offs]
            for c, x in zip(comp, dist):
                lim = m_rel * abs(x)
                if not abs(c) >= (lim if lim > m_abs else m_abs):  # noqa: FURB136 (max() exactly, inlined)
                    break
            else:
                if w in ("left", "in front"):
                    n = sum(1 for c in comp if -c > 0)
                else:
                    n = sum(1 for c in comp if c > 0)
                return a, label, "rel", w, None, n, members
    return None


def count_constrained(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal = ctx.scene, ctx.rows, ctx.rnd, ctx.bal
    if len(s.ref_idx) == 0 or s.n < 2:
        return
    ids, ex = s.id_list, s.expr
    plurals: dict[str, str] = {}
    for fmt, cap in caps.items():
        for _ in range(cap):
            qy = _count_query(ctx)
            if qy is None:
                continue
            a, label, kind, param, r_text, n, members = qy
            things = plurals.get(label)
            if things is None:
                things = plurals[label] = plural(label)
            if label == s.labels[a]:
                things = "other " + things
            tmpl = int(rnd.random() * 3)
            view = CAMERA_VIEW[int(rnd.random() * 3)]
            fields = dict(things=things, a=ex[a], r=r_text, rel=REL_PHRASE.get(param, ""), view=view,
                          view_cap=view[:1].upper() + view[1:])
            if kind == "within":
                call = f"count_within({label!r}, o{ids[a]}, {param:.4f})"
                stem = COUNT_WITHIN[tmpl].format(**fields) + COUNT_SUFFIX["within"]
            else:
                call = f"count_rel({label!r}, o{ids[a]}, '{param}')"
                stem = COUNT_REL[tmpl].format(**fields)
            oids = [ids[a]] + [ids[i] for i in members]
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
                tb = COUNT_BOOL_WITHIN if kind == "within" else COUNT_BOOL_REL
                q = tb[tmpl].format(k=k, **fields) + COUNT_SUFFIX[kind]
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=oids, program=f"answer = eq({call}, {k})")


# ----------------------------------------------------------------------------------------------
# multi-step problems

def _move_entry(unit: str, amount: float, dirn: str):
    text, m = shown(amount, unit)
    vec = tuple(m * c for c in MOVES[dirn])
    return dirn, length_text(m, unit), vec, unit


_MOVE_NAMES = tuple(MOVES)
# every (unit, amount, direction) move, prepared once: _MOVE_TABLE[unit][amount index][direction index]
_MOVE_TABLE = {u: [[_move_entry(u, a, d) for d in _MOVE_NAMES] for a in amounts] for u, amounts in AMOUNTS.items()}
_MOVE_M = _MOVE_TABLE["m"]


def _move(rnd, units):
    """(direction words, amount text, move vector, unit): the same draws as picking a unit, an amount
    and a direction in turn."""
    random = rnd.random
    if units == "metric":
        return _MOVE_M[int(random() * 4)][int(random() * 4)]
    table = _MOVE_TABLE[pick_unit(rnd, units, 1.0)]
    return table[int(random() * len(table))][int(random() * 4)]


_m = "{:.2f} m".format  # _m(v) -> "v m" to 2 decimals


def _shift(c, vec):
    return (c[0] + vec[0], c[1] + vec[1], c[2] + vec[2])


def _dist(p, q) -> float:
    dx, dy, dz = q[0] - p[0], q[1] - p[1], q[2] - p[2]
    return math.sqrt(dx * dx + dy * dy + dz * dz)


_AS_PROGRAM: dict = {}
_MOVED_ARGS: dict = {}


def _as_program(vec):
    """The move vector as the program states it (4 decimals): what `moved(...)` computes with."""
    r = _AS_PROGRAM.get(vec)
    if r is None:
        r = _AS_PROGRAM[vec] = tuple(float(f"{v:.4f}") for v in vec)
    return r


def _half_extent(s, i: int, u0: float, u1: float) -> float:
    c, sn = s.cos_yaw[i], s.sin_yaw[i]
    w, d = s.whd_l[i][0], s.whd_l[i][1]
    return abs(u0 * c + u1 * sn) * w / 2 + abs(-u0 * sn + u1 * c) * d / 2


def _fit(ctx, want: bool):
    """Boolean: would X (or a box w wide) fit in the gap between Y and Z."""
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    R = s.ref_list
    ids, ex, C, G, fp, size_ok = s.id_list, s.expr, s.C, s.gap_matrix(), s.fpmin, s.size_ok_l
    m_abs, m_rel = cfg.margin_abs_m, cfg.margin_rel
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
        step1 = (f"Step 1: {s.expr_cap[y]} and {ex[z]} are {_m(hd)} apart horizontally; they extend {_m(hy)} and "
                 f"{_m(hz)} toward each other, leaving a gap of {_m(g)}.")
        xs = [i for i in R if i != y and i != z and size_ok[i]
              and (fp[i] < g) == want and abs(g - fp[i]) >= max(m_abs, m_rel * abs(max(g, fp[i])))]
        tmpl = int(rnd.random() * 3)
        if xs and rnd.random() < 0.7:
            x = xs[int(rnd.random() * len(xs))]
            w = fp[x]
            prog = f"g = gap(o{oy}, o{oz})\nw = footprint_min(o{ids[x]})\nanswer = gt(g, w)"
            q = FIT_X[tmpl].format(x=ex[x], y=ex[y], z=ex[z]) + FIT_SUFFIX
            steps = [step1, f"Step 2: {s.expr_cap[x]} is {_m(w)} across at its narrowest.",
                     f"Step 3: {_m(g)} {'>' if want else '<'} {_m(w)}, so it {'fits' if want else 'does not fit'}."]
            oids = [oy, oz, ids[x]]
        else:
            unit = pick_unit(rnd, cfg.units, g)
            claim = threshold_claim(rnd, cfg, g, want, unit, floor=0.05)
            if claim is None:
                continue
            _, w_text, w = claim  # a box fits when the gap is more than its width
            if (g > w) != want:
                continue
            prog = f"g = gap(o{oy}, o{oz})\nanswer = gt(g, {w:.4f})"
            if (g > float(f"{w:.4f}")) != want:  # the program's value must be the answer
                continue
            q = FIT_W[tmpl].format(w=w_text, y=ex[y], z=ex[z]) + FIT_SUFFIX
            steps = [step1, f"Step 2: {_m(g)} {'>' if want else '<'} {w_text}, so it {'fits' if want else 'does not fit'}."]
            oids = [oy, oz]
        return q, prog, "\n".join(steps), oids
    return None


def _room(ctx):
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    R = s.ref_list
    ids, ex, G, fp, size_ok = s.id_list, s.expr, s.gap_matrix(), s.fpmin, s.size_ok_l
    xs = [i for i in R if size_ok[i]]
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
        prog = f"g = gap(o{ids[y]}, o{ids[z]})\nw = footprint_min(o{ids[x]})\nanswer = sub(g, w)"
        steps = [f"Step 1: The gap between the footprints of {ex[y]} and {ex[z]} is {_m(g)}.",
                 f"Step 2: {s.expr_cap[x]} is {_m(w)} across at its narrowest.",
                 f"Step 3: {_m(g)} - {_m(w)} = {_m(g - w)} of free space remains."]
        q = ROOM[int(rnd.random() * 3)].format(x=ex[x], y=ex[y], z=ex[z]) + FIT_SUFFIX
        return q, prog, "\n".join(steps), [ids[y], ids[z], ids[x]], g - w
    return None


def _nearest(ctx, n_options: int | None):
    """X moved; the nearest object among all others (free) or among n options (choice)."""
    s, rnd, cfg = ctx.scene, ctx.rnd, ctx.cfg
    R = s.ref_list
    ex, C, referable = s.expr, s.C, s.referable
    m_abs, m_rel = cfg.margin_abs_m, cfg.margin_rel
    for _ in range(10):
        x = R[int(rnd.random() * len(R))]
        dirn, amt, vec, _unit = _move(rnd, cfg.units)
        p = _shift(C[x], vec)
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
        if not abs(d1 - d0) >= max(m_abs, m_rel * abs(d1)) or not referable[cands[o[0]]]:
            continue
        # the program moves by the vector as printed; the margin keeps the winner the same
        pp = _shift(C[x], _as_program(vec))
        dp = [_dist(pp, C[i]) for i in cands]
        if min(range(len(cands)), key=dp.__getitem__) != o[0]:
            continue
        win = cands[o[0]]
        listed = ", ".join(f"{ex[cands[k]]} {_m(dist[k])}" for k in o[:4])
        steps = [f"Step 1: {s.expr_cap[x]} is at {xyz_text(C[x])} m; moving it {amt} {dirn} puts it at {xyz_text(p)} m.",
                 f"Step 2: Distances from there: {listed}{', ...' if len(o) > 4 else ''}.",
                 f"Step 3: The nearest is {ex[win]}."]
        return x, dirn, amt, vec, win, cands, "\n".join(steps)
    return None


def _moved_prog(ox: int, vec) -> str:
    args = _MOVED_ARGS.get(vec)
    if args is None:
        args = _MOVED_ARGS[vec] = f"{vec[0]:.4f}, {vec[1]:.4f}, {vec[2]:.4f})"
    return f"p = moved(o{ox}, {args}"


def multi_step(ctx, task: str, caps: dict[str, int]) -> None:
    """Answers are the values of the programs (computed as `program.Executor` would: the move
    vector as printed, center-to-center distances, footprint gaps), so every row verifies."""
    s, rows, rnd, bal, cfg = ctx.scene, ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    if len(s.ref_idx) < 3:
        return
    ids, ex, C = s.id_list, s.expr, s.C
    R = s.ref_list
    random = rnd.random
    m_abs, m_rel, min_len = cfg.margin_abs_m, cfg.margin_rel, cfg.min_length_m
    for fmt, cap in caps.items():
        for _ in range(cap):
            tmpl = int(random() * 3)
            r = random()
            if fmt == "boolean":
                want = bal.target()
                if r < 0.5:
                    built = _fit(ctx, want)
                    if built is None:
                        bal.untarget()
                        continue
                    q, prog, reasoning, oids = built
                elif r < 0.75:
                    x, y = sample(rnd, R, 2)
                    dirn, amt, vec, unit = _move(rnd, cfg.units)
                    p = _shift(C[x], vec)
                    d = _dist(p, C[y])
                    claim = threshold_claim(rnd, cfg, d, want, unit)
                    if claim is None or d < min_len:
                        bal.untarget()
                        continue
                    more, t_text, t_m = claim
                    dp, tp = _dist(_shift(C[x], _as_program(vec)), C[y]), float(f"{t_m:.4f}")
                    if ((dp > tp) if more else (dp < tp)) is not want:
                        bal.untarget()
                        continue
                    prog = f"{_moved_prog(ids[x], vec)}\nd = dist(p, o{ids[y]})\nanswer = {'gt' if more else 'lt'}(d, {t_m:.4f})"
                    q = MOVEDIST_BOOL[tmpl].format(x=ex[x], y=ex[y], amt=amt, dirn=dirn, t=t_text,
                                                         cmp="more than" if more else "less than") + MOVE_SUFFIX
                    reasoning = (f"Step 1: Moving {ex[x]} {amt} {dirn} puts its center at {xyz_text(p)} m.\n"
                                 f"Step 2: Its distance to {ex[y]} would be {_m(d)}.\n"
                                 f"Step 3: {_m(d)} is {'more' if d > t_m else 'less'} than {t_text}, so {'yes' if want else 'no'}.")
                    oids = [ids[x], ids[y]]
                else:
                    x, y, z = sample(rnd, R, 3)
                    dirn, amt, vec, _ = _move(rnd, cfg.units)
                    p = _shift(C[x], vec)
                    dy, dz = _dist(p, C[y]), _dist(p, C[z])
                    if not abs(dy - dz) >= max(m_abs, m_rel * abs(max(dy, dz))):
                        bal.untarget()
                        continue
                    if (dy < dz) != want:
                        y, z, dy, dz = z, y, dz, dy
                    pp = _shift(C[x], _as_program(vec))
                    if (_dist(pp, C[y]) < _dist(pp, C[z])) is not want:
                        bal.untarget()
                        continue
                    prog = (f"{_moved_prog(ids[x], vec)}\na = dist(p, o{ids[y]})\nb = dist(p, o{ids[z]})\n"
                            f"answer = lt(a, b)")
                    q = CLOSER[tmpl].format(x=ex[x], y=ex[y], z=ex[z], amt=amt, dirn=dirn) + MOVE_SUFFIX
                    reasoning = (f"Step 1: Moving {ex[x]} {amt} {dirn} puts its center at {xyz_text(p)} m.\n"
                                 f"Step 2: From there, {ex[y]} is {_m(dy)} away.\n"
                                 f"Step 3: From there, {ex[z]} is {_m(dz)} away.\n"
                                 f"Step 4: {_m(dy)} {'<' if dy < dz else '>'} {_m(dz)}, so {'yes' if want else 'no'}.")
                    oids = [ids[x], ids[y], ids[z]]
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=oids, program=prog, reasoning=reasoning)
                continue
            # free / choice
            if r < 1 / 3:
                kind = "room"
                built = _room(ctx)
                if built is None:
                    continue
                q, prog, reasoning, oids, value = built
            elif r < 2 / 3:
                kind = "movedist"
                x, y = sample(rnd, R, 2)
                dirn, amt, vec, _u = _move(rnd, cfg.units)
                p = _shift(C[x], vec)
                d = _dist(p, C[y])
                if d < min_len:
                    continue
                prog = f"{_moved_prog(ids[x], vec)}\nanswer = dist(p, o{ids[y]})"
                q = MOVEDIST[tmpl].format(x=ex[x], y=ex[y], amt=amt, dirn=dirn) + MOVE_SUFFIX
                reasoning = (f"Step 1: Moving {ex[x]} {amt} {dirn} puts its center at {xyz_text(p)} m.\n"
                             f"Step 2: The distance from there to the center of {ex[y]} is {_m(d)}.")
                oids = [ids[x], ids[y]]
                value = _dist(_shift(C[x], _as_program(vec)), C[y])
            else:
                built = _nearest(ctx, 4 if fmt == "choice" else None)
                if built is None:
                    continue
                x, dirn, amt, vec, win, cands, reasoning = built
                if fmt == "choice":
                    pos = bal.letter(4)
                    others = [c for c in cands if c != win]
                    order = place(win, others, pos)
                    prog = f"{_moved_prog(ids[x], vec)}\nanswer = nearest(p, {', '.join(f'o{ids[i]}' for i in order)})"
                    opts = [s.expr_cap[i] for i in order]
                    q = choice_question(NEAREST_CHOICE[tmpl].format(x=ex[x], amt=amt, dirn=dirn) + MOVE_SUFFIX, opts)
                    rows.add(task, fmt, question=q, answer=choice(pos, opts, option_ids=[ids[i] for i in order]),
                             object_ids=[ids[x]] + [ids[i] for i in order], program=prog, reasoning=reasoning)
                else:
                    prog = f"{_moved_prog(ids[x], vec)}\nanswer = nearest(p, {', '.join(f'o{ids[i]}' for i in cands)})"
                    k = cands.index(win) + 1
                    q = NEAREST[tmpl].format(x=ex[x], amt=amt, dirn=dirn) + MOVE_SUFFIX
                    rows.add(task, fmt, question=q, answer=which_object(ex[win], ids[win], k),
                             object_ids=[ids[x], ids[win]], program=prog, reasoning=reasoning)
                continue
            unit = pick_unit(rnd, cfg.units, value)
            q = q.replace(" (", f" Answer {UNIT_HINT[unit]}. (", 1) if kind == "room" else q + f" Answer {UNIT_HINT[unit]}."
            if fmt == "free":
                rows.add(task, fmt, question=q, answer=length(value, unit), object_ids=oids, program=prog, reasoning=reasoning)
            else:
                pos = bal.letter(4)
                opts = length_options(rnd, cfg, value, unit, pos)
                if opts is None:
                    bal.unletter(pos)
                    continue
                rows.add(task, fmt, question=choice_question(q, opts), answer=choice(pos, opts), object_ids=oids,
                         program=prog, reasoning=reasoning)


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
