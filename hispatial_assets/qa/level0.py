"""L0 geometry: the 3D point at a pixel, and which of two pixels is closer (camera frame).

Pixels appear in text as normalized integers in [0, 1000): ``floor((u + 0.5) / W * 1000)`` of the
pixel center; the program keeps the exact pixel (``px(u, v)``: column, row of the point map).
"Closer to the camera" means a smaller Euclidean distance from the camera center (the origin).
"""

from __future__ import annotations


import numpy as np

from hispatial_assets.qa.answers import choice, choice_question, place, which_point, xyz, xyz_text, yes_no
from hispatial_assets.qa.options import separated
from hispatial_assets.qa.rand import sample, shuffle
from hispatial_assets.qa.text import CAMERA_FRAME, templates

POINT_FREE = (
    "What are the 3D coordinates of the point at pixel {px} {frame}? Answer in meters.",
    "Give the (x, y, z) position in meters of the surface point seen at pixel {px}, {frame}.",
    "Pixel {px} (normalized to a 0-1000 grid) shows a surface point. Where is it {frame}, in meters?",
)
POINT_CHOICE = (
    "Which is the 3D position in meters of the point at pixel {px}, {frame}?",
    "Where is the surface point seen at pixel {px} (0-1000 grid), {frame}?",
    "Pick the (x, y, z) coordinates in meters of the point at pixel {px}, {frame}.",
)
POINT_BOOL = (
    "Is the point at pixel {px} located at about {xyz} m {frame}?",
    "{frame_cap}, is the surface point at pixel {px} approximately at {xyz} meters?",
    "Does the pixel {px} (0-1000 grid) show a point near {xyz} m {frame}?",
)
ORDER_FREE = (
    "Which point is {word} the camera: point 1 at pixel {p1} or point 2 at pixel {p2}? (Pixels on a 0-1000 grid, distances in the camera frame.)",
    "Two pixels are marked: point 1 at {p1} and point 2 at {p2}. Which of them is {word} the camera?",
    "Comparing the surface points at pixels {p1} (point 1) and {p2} (point 2), which one is {word} the camera?",
)
ORDER_CHOICE = (
    "Which of these pixels shows the point {sup} the camera? (Pixels on a 0-1000 grid.)",
    "Among the marked pixels below, which one sees the surface {sup} the camera?",
    "Of the following pixel locations, which has the point {sup} the camera?",
)
ORDER_BOOL = (
    "Is the point at pixel {p1} {word} the camera than the point at pixel {p2}?",
    "Looking at pixels {p1} and {p2} (0-1000 grid), is the first point {word} the camera than the second?",
    "Is the surface at pixel {p1} {word} the camera than the surface at pixel {p2}?",
)
CLOSER, FARTHER = "closer to", "farther from"
CLOSEST, FARTHEST = "closest to", "farthest from"


class PixelPool:
    """Valid pixels sampled once per image, with their points and distances."""

    def __init__(self, point_map, size: int, seed: int) -> None:
        H, W = point_map.mask.shape
        rng = np.random.default_rng(seed)
        flat_xyz = point_map.xyz.reshape(-1, 3)
        valid = point_map.mask.reshape(-1)
        flat_all = rng.integers(0, H * W, size=4 * size)
        # The first ``size`` distinct valid draws, in draw order. Try a short prefix of the draws first
        # (gathering ~1000 random pixels of a cold point map is the cost here); the result equals the
        # full computation whenever the prefix already holds ``size`` distinct valid pixels.
        sel = None
        prefix = flat_all[: size + size // 4 + 8]
        if len(prefix) < len(flat_all):
            pts = flat_xyz.take(prefix, axis=0)
            keep = valid.take(prefix) & np.isfinite(pts).all(axis=1)
            firsts = list(dict.fromkeys(prefix[keep].tolist()))
            if len(firsts) >= size:
                sel = firsts[:size]
                flat = np.array(sel, dtype=np.int64)
                xyz = pts[keep][: len(firsts)] if len(firsts) == int(keep.sum()) else flat_xyz.take(flat, axis=0)
                xyz = xyz[:size].astype(np.float64)
        if sel is None:
            flat = flat_all
            fin = np.isfinite(flat_xyz[flat])
            keep = valid[flat] & fin[:, 0] & fin[:, 1] & fin[:, 2]
            flat = flat[keep]
            if len(flat) < size // 2:
                allv = np.flatnonzero(valid & np.isfinite(flat_xyz).all(axis=1))
                flat = rng.permutation(allv)[: 4 * size] if len(allv) else flat
            _, first = np.unique(flat, return_index=True)
            flat = flat[np.sort(first)][:size]
            xyz = flat_xyz[flat].astype(np.float64)
        u, v = flat % W, flat // W
        self.n = len(flat)
        self.u, self.v = u.tolist(), v.tolist()
        # pixel text "[nu, nv]" on the 0-1000 grid: built on use (few of the pool's pixels are asked)
        # 0 <= u < W, so (u + 0.5) * 1000 / W lies in (0, 1000): the 0..999 clip never binds
        self.nu = ((u + 0.5) * 1000.0 / W).astype(np.int64).tolist()
        self.nv = ((v + 0.5) * 1000.0 / H).astype(np.int64).tolist()
        self.xyz = list(zip(*xyz.T.tolist())) if self.n else []  # == list(map(tuple, xyz.tolist())), faster
        dist = np.sqrt(np.add.reduce(xyz * xyz, axis=1))  # np.linalg.norm(xyz, axis=1), its own formula
        self.dist = dist.tolist()
        self.order = np.argsort(dist).tolist() if self.n else []

    @property
    def px(self) -> list[str]:
        return list(map("[{}, {}]".format, self.nu, self.nv))

    def call(self, i: int) -> str:
        return f"px({self.u[i]}, {self.v[i]})"


def pool(ctx) -> PixelPool | None:
    if ctx.cache.get("pool") is None and ctx.image.point_map is not None:
        ctx.cache["pool"] = PixelPool(ctx.image.point_map, ctx.cfg.l0_pixel_pool,
                                      ctx.cfg.rng_seed(ctx.image.image_id, "l0_pool"))
    return ctx.cache.get("pool")


def _distractor_points(P: PixelPool, truth, sep: float, k: int, rnd, exclude: int) -> list[tuple] | None:
    """k pool points drawn at random (at most 12 k draws), separated from the truth and each other."""
    random, n, xyz = rnd.random, P.n, P.xyz
    draws = (int(random() * n) for _ in range(12 * k))
    return separated((xyz[j] for j in draws if j != exclude), truth, sep, k)


def point_3d(ctx, task: str, caps: dict[str, int]) -> None:
    P = pool(ctx)
    if P is None or P.n < 8:
        return
    rows, rnd, bal, cfg = ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    nu, nv, U, V = P.nu, P.nv, P.u, P.v
    i = 0
    for fmt, cap in caps.items():
        for _ in range(cap):
            if i >= P.n:
                return
            t = P.xyz[i]
            px = f"[{nu[i]}, {nv[i]}]"
            call = f"px({U[i]}, {V[i]})"
            sep = max(2 * cfg.margin_abs_m, 0.15 * P.dist[i])
            frame = CAMERA_FRAME[int(rnd.random() * 3)]
            tmpl = int(rnd.random() * 3)
            if fmt == "free":
                rows.add(task, fmt, question=POINT_FREE[tmpl].format(px=px, frame=frame), answer=xyz(t, "camera"),
                         object_ids=[], program=f"answer = {call}")
            elif fmt == "choice":
                ds = _distractor_points(P, t, sep, 3, rnd, i)
                if ds is None:
                    i += 1
                    continue
                pos = bal.letter(4)
                opts = place(xyz_text(t), [xyz_text(d) for d in ds], pos)
                rows.add(task, fmt, question=choice_question(POINT_CHOICE[tmpl].format(px=px, frame=frame), opts),
                         answer=choice(pos, opts), object_ids=[], program=f"answer = {call}")
            else:
                want = bal.target()
                claim = t
                if not want:
                    ds = _distractor_points(P, t, sep, 1, rnd, i)
                    if ds is None:
                        bal.untarget()
                        i += 1
                        continue
                    claim = ds[0]
                q = POINT_BOOL[tmpl].format(px=px, xyz=xyz_text(claim), frame=frame, frame_cap=frame[:1].upper() + frame[1:])
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=[],
                         program=f"answer = near({call}, [{claim[0]:.2f}, {claim[1]:.2f}, {claim[2]:.2f}], {sep / 2:.3f})")
            i += 1


def _pair(P: PixelPool, ctx) -> tuple[int, int] | None:
    """Two pool pixels from random depth quartiles whose distances differ by more than the margin."""
    rnd, cfg, n = ctx.rnd, ctx.cfg, P.n
    for _ in range(20):
        b1, b2 = int(rnd.random() * 4), int(rnd.random() * 4)
        i = P.order[min(n - 1, int((b1 + rnd.random()) * n / 4))]
        j = P.order[min(n - 1, int((b2 + rnd.random()) * n / 4))]
        if i != j and cfg.ok(P.dist[i] - P.dist[j], max(P.dist[i], P.dist[j])):
            return i, j
    return None


def depth_order(ctx, task: str, caps: dict[str, int]) -> None:
    P = pool(ctx)
    if P is None or P.n < 8:
        return
    rows, rnd, bal, cfg = ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    nu, nv, U, V = P.nu, P.nv, P.u, P.v
    for fmt, cap in caps.items():
        for _ in range(cap):
            tmpl = int(rnd.random() * 3)
            closer = rnd.random() < 0.5
            if fmt == "free":
                pr = _pair(P, ctx)
                if pr is None:
                    continue
                i, j = pr
                win = 1 if (P.dist[i] < P.dist[j]) == closer else 2
                q = ORDER_FREE[tmpl].format(word=CLOSER if closer else FARTHER, p1=f"[{nu[i]}, {nv[i]}]", p2=f"[{nu[j]}, {nv[j]}]")
                op = "argmin" if closer else "argmax"
                rows.add(task, fmt, question=q, answer=which_point(win), object_ids=[],
                         program=f"answer = {op}('cam_dist', px({U[i]}, {V[i]}), px({U[j]}, {V[j]}))")
            elif fmt == "choice":
                picked = None
                for _ in range(20):
                    cand = sample(rnd, range(P.n), 4)
                    ds = sorted(cand, key=P.dist.__getitem__, reverse=not closer)
                    a, b = P.dist[ds[0]], P.dist[ds[1]]
                    if cfg.ok(a - b, max(a, b)):
                        picked = ds
                        break
                if picked is None:
                    continue
                pos = bal.letter(4)
                others = picked[1:]
                shuffle(rnd, others)
                order = place(picked[0], others, pos)
                opts = [f"[{nu[k]}, {nv[k]}]" for k in order]
                q = choice_question(ORDER_CHOICE[tmpl].format(sup=CLOSEST if closer else FARTHEST), opts)
                op = "argmin" if closer else "argmax"
                rows.add(task, fmt, question=q, answer=choice(pos, opts), object_ids=[],
                         program=f"answer = {op}('cam_dist', {', '.join([f'px({U[k]}, {V[k]})' for k in order])})")
            else:
                pr = _pair(P, ctx)
                if pr is None:
                    continue
                want = bal.target()
                i, j = pr
                if ((P.dist[i] < P.dist[j]) == closer) != want:
                    i, j = j, i
                q = ORDER_BOOL[tmpl].format(word=("closer to" if closer else "farther from"), p1=f"[{nu[i]}, {nv[i]}]", p2=f"[{nu[j]}, {nv[j]}]")
                op = "lt" if closer else "gt"
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=[],
                         program=f"answer = {op}(cam_dist(px({U[i]}, {V[i]})), cam_dist(px({U[j]}, {V[j]})))")


# question templates compiled once (text.Template): the same text as str.format, without re-parsing
POINT_FREE = templates(POINT_FREE)
POINT_CHOICE = templates(POINT_CHOICE)
POINT_BOOL = templates(POINT_BOOL)
ORDER_FREE = templates(ORDER_FREE)
ORDER_CHOICE = templates(ORDER_CHOICE)
ORDER_BOOL = templates(ORDER_BOOL)
