"""L1 attributes: an object's location, facing direction and size (gravity frame).

Facing words come from the front yaw in 8 sectors of 45° centered on the frame axes (0° = facing
right, 90° = away from the camera, 180° = left, 270° = toward the camera); objects within
``angle_margin_deg`` of a sector boundary, or without a known front, are not asked about.
Sizes are not asked for truncated or occluded objects.
"""

from __future__ import annotations

import math

from hispatial_assets.qa.answers import choice, choice_question, label_answer, length, place, xyz, xyz_text, yes_no
from hispatial_assets.qa.options import length_options, threshold_claim, xyz_distractors, xyz_variants
from hispatial_assets.qa.program import FACING_WORDS, facing_sector
from hispatial_assets.qa.rand import sample, shuffle
from hispatial_assets.qa.text import GRAVITY_FRAME, UNIT_HINT, templates
from hispatial_assets.qa.units import pick_unit

LOC_FREE = (
    "Where is {o} located {frame}? Give the (x, y, z) coordinates of its center in meters.",
    "What are the 3D coordinates of the center of {o}, {frame}, in meters?",
    "{frame_cap}, where is the center of {o}? Answer as (x, y, z) in meters.",
)
LOC_CHOICE = (
    "Which is the position of the center of {o} {frame}, in meters?",
    "Where is {o}? Pick its center coordinates {frame} (meters).",
    "{frame_cap}, which (x, y, z) in meters is the center of {o}?",
)
LOC_BOOL = (
    "Is the center of {o} at about {xyz} m {frame}?",
    "{frame_cap}, is {o} located near {xyz} meters?",
    "Is {o} centered approximately at {xyz} m, {frame}?",
)
ORI_FREE = (
    "Which way is {o} facing, as seen from the camera?",
    "In which direction does the front of {o} point, relative to the camera's view (gravity-aligned frame)?",
    "Describe the facing direction of {o} from the camera's viewpoint.",
)
ORI_CHOICE = (
    "Which way is {o} facing, as seen from the camera?",
    "Where does the front of {o} point, from the camera's point of view?",
    "Seen from the camera, {o} is facing:",
)
ORI_BOOL = (
    "Is {o} facing {dirn}, as seen from the camera?",
    "From the camera's viewpoint, does the front of {o} point {dirn}?",
    "Seen from the camera, is {o} oriented {dirn}?",
)
SIZE_FREE = {
    "height": ("How tall is {o}?", "What is the height of {o}?", "How high is {o}, measured vertically?"),
    "width": ("How wide is {o}, side to side?", "What is the width of {o}?", "Measure the width of {o} from one side to the other."),
    "depth": ("How deep is {o}, front to back?", "What is the depth of {o}, from front to back?", "How far does {o} extend from front to back?"),
}
SIZE_CMP = {"height": ("taller than", "shorter than"), "width": ("wider than", "narrower than"),
            "depth": ("deeper than", "shallower than")}
SIZE_BOOL = ("Is {o} {cmp} {t}?", "Would you say {o} is {cmp} {t}?", "Is the {dim} of {o} {cmp2} {t}?")
SIZE_SUFFIX = " (3D box in the gravity-aligned frame; answer {hint}.)"
DIMS = ("height", "height", "width", "depth")
DIM_COL = {"width": 0, "depth": 1, "height": 2}


def _frames(rnd):
    f = GRAVITY_FRAME[int(rnd.random() * 3)]
    return f, f[:1].upper() + f[1:]


def _objects(ctx, mask=None) -> list[int]:
    s = ctx.scene
    idx = [int(i) for i in s.ref_idx if mask is None or mask[i]]
    shuffle(ctx.rnd, idx)
    return idx


def object_location(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal, cfg = ctx.scene, ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    idx = _objects(ctx)
    if not idx:
        return
    centers = [tuple(c) for c in s.center.tolist()]
    for fmt, cap in caps.items():
        for k in range(min(cap, len(idx))):
            i = idx[k]
            t, o, oid = centers[i], s.expr[i], s.id_list[i]
            frame, frame_cap = _frames(rnd)
            tmpl = int(rnd.random() * 3)
            sep = max(2 * cfg.margin_abs_m, 0.15 * math.hypot(*t))
            prog = f"answer = center(o{oid})"
            if fmt == "free":
                q = LOC_FREE[tmpl].format(o=o, frame=frame, frame_cap=frame_cap)
                rows.add(task, fmt, question=q, answer=xyz(t, "gravity"), object_ids=[oid], program=prog)
            elif fmt == "choice":
                ds = xyz_distractors(rnd, t, [c for j, c in enumerate(centers) if j != i] + xyz_variants(t), sep)
                if ds is None:
                    continue
                pos = bal.letter(4)
                opts = place(xyz_text(*t), [xyz_text(*d) for d in ds], pos)
                q = choice_question(LOC_CHOICE[tmpl].format(o=o, frame=frame, frame_cap=frame_cap), opts)
                rows.add(task, fmt, question=q, answer=choice(pos, opts), object_ids=[oid], program=prog)
            else:
                want = bal.target()
                claim = t
                if not want:
                    ds = xyz_distractors(rnd, t, [c for j, c in enumerate(centers) if j != i] + xyz_variants(t), sep, 1)
                    if ds is None:
                        bal.untarget()
                        continue
                    claim = ds[0]
                q = LOC_BOOL[tmpl].format(o=o, xyz=xyz_text(*claim), frame=frame, frame_cap=frame_cap)
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=[oid],
                         program=f"answer = near(center(o{oid}), [{claim[0]:.2f}, {claim[1]:.2f}, {claim[2]:.2f}], {sep / 2:.3f})")


def _sector(front: float, margin_deg: float) -> int | None:
    deg = math.degrees(front) % 360.0
    k = int(round(deg / 45.0)) % 8
    off = (deg - 45.0 * k + 180.0) % 360.0 - 180.0
    if abs(off) > 22.5 - margin_deg:
        return None
    assert k == facing_sector(front)
    return k


def object_orientation(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal, cfg = ctx.scene, ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    idx = [i for i in _objects(ctx, s.has_front) if _sector(s.front[i], cfg.angle_margin_deg) is not None]
    if not idx:
        return
    for fmt, cap in caps.items():
        for k in range(min(cap, len(idx))):
            i = idx[k]
            sec = _sector(s.front[i], cfg.angle_margin_deg)
            o, oid, tmpl = s.expr[i], s.id_list[i], int(rnd.random() * 3)
            label = FACING_WORDS[sec]
            prog = f"answer = facing(o{oid})"
            far = [(sec + d) % 8 for d in (2, 3, 4, 5, 6)]  # not the adjacent sectors
            if fmt == "free":
                rows.add(task, fmt, question=ORI_FREE[tmpl].format(o=o), answer=label_answer(f"It is facing {label}.", label),
                         object_ids=[oid], program=prog)
            elif fmt == "choice":
                pos = bal.letter(4)
                ds = [FACING_WORDS[j] for j in sample(rnd, far, 3)]
                opts = place(label, ds, pos)
                shown = [f"facing {x}" for x in opts]
                rows.add(task, fmt, question=choice_question(ORI_CHOICE[tmpl].format(o=o), shown),
                         answer=choice(pos, opts, shown_as=shown), object_ids=[oid], program=prog)
            else:
                want = bal.target()
                claim = label if want else FACING_WORDS[far[int(rnd.random() * 5)]]
                rows.add(task, fmt, question=ORI_BOOL[tmpl].format(o=o, dirn=claim), answer=yes_no(want), object_ids=[oid],
                         program=f"answer = eq(facing(o{oid}), '{claim}')")


def object_size(ctx, task: str, caps: dict[str, int]) -> None:
    s, rows, rnd, bal, cfg = ctx.scene, ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    idx = _objects(ctx, s.size_ok)
    if not idx:
        return
    whd = s.whd.tolist()
    n = len(idx)
    for fmt, cap in caps.items():
        for k in range(cap):
            i = idx[k % n]
            dim = DIMS[(k // n + int(rnd.random() * 4)) % 4]
            v = whd[i][DIM_COL[dim]]
            o, oid, tmpl = s.expr[i], s.id_list[i], int(rnd.random() * 3)
            unit = pick_unit(rnd, cfg.units, v)
            suffix = SIZE_SUFFIX.format(hint=UNIT_HINT[unit])
            prog = f"answer = {dim}(o{oid})"
            if fmt == "free":
                rows.add(task, fmt, question=SIZE_FREE[dim][tmpl].format(o=o) + suffix, answer=length(v, unit, dimension=dim),
                         object_ids=[oid], program=prog)
            elif fmt == "choice":
                pos = bal.letter(4)
                opts = length_options(rnd, cfg, v, unit, pos)
                if opts is None:
                    bal.unletter(pos)
                    continue
                rows.add(task, fmt, question=choice_question(SIZE_FREE[dim][tmpl].format(o=o) + suffix, opts),
                         answer=choice(pos, opts, dimension=dim), object_ids=[oid], program=prog)
            else:
                want = bal.target()
                claim = threshold_claim(rnd, cfg, v, want, unit)
                if claim is None:
                    bal.untarget()
                    continue
                cmp = SIZE_CMP[dim][0 if claim.more else 1]
                cmp2 = "more than" if claim.more else "less than"
                q = SIZE_BOOL[tmpl].format(o=o, cmp=cmp, cmp2=cmp2, t=claim.text, dim=dim) + " (3D box in the gravity-aligned frame.)"
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=[oid],
                         program=f"answer = {'gt' if claim.more else 'lt'}({dim}(o{oid}), {claim.meters:.4f})")


# question templates compiled once (text.Template): the same text as str.format, without re-parsing
LOC_FREE = templates(LOC_FREE)
LOC_CHOICE = templates(LOC_CHOICE)
LOC_BOOL = templates(LOC_BOOL)
ORI_FREE = templates(ORI_FREE)
ORI_CHOICE = templates(ORI_CHOICE)
ORI_BOOL = templates(ORI_BOOL)
SIZE_FREE = templates(SIZE_FREE)
SIZE_BOOL = templates(SIZE_BOOL)
SIZE_SUFFIX = templates(SIZE_SUFFIX)
