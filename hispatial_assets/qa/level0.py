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
        xyz_all = point_map.xyz.reshape(-1, 3)
        mask = point_map.mask.reshape(-1)

        def usable(flat: np.ndarray) -> np.ndarray:
            """The valid pixels with finite points among ``flat`` (repeats kept, in order)."""
            return flat[mask[flat] & np.isfinite(xyz_all[flat]).all(axis=1)]

        # The pool is the first ``size`` distinct usable pixels of 4 * size random draws, in draw order.
        # They are nearly always among the first ~1.25 size draws, so those are read first: reading
        # ~1000 scattered pixels of a large point map costs more than the rest of an image's L0.
        draws = rng.integers(0, H * W, size=4 * size)
        flat = _first_distinct(usable(draws[: size + size // 4 + 8]), size)
        if len(flat) < size:
            drawn = usable(draws)
            if len(drawn) < size // 2:  # a mostly invalid map: take its usable pixels in random order
                everywhere = np.flatnonzero(mask & np.isfinite(xyz_all).all(axis=1))
                drawn = rng.permutation(everywhere)[: 4 * size] if len(everywhere) else drawn
            flat = _first_distinct(drawn, size)
        xyz = xyz_all[flat].astype(np.float64)
        u, v = flat % W, flat // W
        self.n = len(flat)
        self.u, self.v = u.tolist(), v.tolist()  # the exact pixel (column, row), for programs
        # the pixel on the 0-1000 grid the questions use: 0 <= u < W, so (u + 0.5) * 1000 / W is in (0, 1000)
        self.nu = ((u + 0.5) * 1000.0 / W).astype(np.int64).tolist()
        self.nv = ((v + 0.5) * 1000.0 / H).astype(np.int64).tolist()
        self.xyz = [tuple(p) for p in xyz.tolist()]
        dist = np.linalg.norm(xyz, axis=1)
        self.dist = dist.tolist()
        self.order = np.argsort(dist).tolist()  # pool indices, nearest first

    def text(self, i: int) -> str:
        """Pixel i as questions show it: "[nu, nv]" on the 0-1000 grid."""
        return f"[{self.nu[i]}, {self.nv[i]}]"

    def call(self, i: int) -> str:
        """Pixel i as programs name it."""
        return f"px({self.u[i]}, {self.v[i]})"


def _first_distinct(flat: np.ndarray, size: int) -> np.ndarray:
    """The first ``size`` distinct values of ``flat``, in order."""
    _, first = np.unique(flat, return_index=True)
    return flat[np.sort(first)][:size]


def pool(ctx) -> PixelPool | None:
    if ctx.cache.get("pool") is None and ctx.image.point_map is not None:
        ctx.cache["pool"] = PixelPool(ctx.image.point_map, ctx.cfg.l0_pixel_pool,
                                      ctx.cfg.rng_seed(ctx.image.image_id, "l0_pool"))
    return ctx.cache.get("pool")


def _distractor_points(P: PixelPool, truth, sep: float, k: int, rnd, exclude: int) -> list[tuple] | None:
    """k pool points drawn at random (at most 12 k draws), separated from the truth and each other."""
    draws = (int(rnd.random() * P.n) for _ in range(12 * k))
    return separated((P.xyz[j] for j in draws if j != exclude), truth, sep, k)


def point_3d(ctx, task: str, caps: dict[str, int]) -> None:
    P = pool(ctx)
    if P is None or P.n < 8:
        return
    rows, rnd, bal, cfg = ctx.rows, ctx.rnd, ctx.bal, ctx.cfg
    i = 0
    for fmt, cap in caps.items():
        for _ in range(cap):
            if i >= P.n:
                return
            t = P.xyz[i]
            px, call = P.text(i), P.call(i)
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
                opts = place(xyz_text(*t), [xyz_text(*d) for d in ds], pos)
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
                q = POINT_BOOL[tmpl].format(px=px, xyz=xyz_text(*claim), frame=frame, frame_cap=frame[:1].upper() + frame[1:])
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
                q = ORDER_FREE[tmpl].format(word=CLOSER if closer else FARTHER, p1=P.text(i), p2=P.text(j))
                op = "argmin" if closer else "argmax"
                rows.add(task, fmt, question=q, answer=which_point(win), object_ids=[],
                         program=f"answer = {op}('cam_dist', {P.call(i)}, {P.call(j)})")
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
                opts = [P.text(k) for k in order]
                q = choice_question(ORDER_CHOICE[tmpl].format(sup=CLOSEST if closer else FARTHEST), opts)
                op = "argmin" if closer else "argmax"
                rows.add(task, fmt, question=q, answer=choice(pos, opts), object_ids=[],
                         program=f"answer = {op}('cam_dist', {', '.join(P.call(k) for k in order)})")
            else:
                pr = _pair(P, ctx)
                if pr is None:
                    continue
                want = bal.target()
                i, j = pr
                if ((P.dist[i] < P.dist[j]) == closer) != want:
                    i, j = j, i
                q = ORDER_BOOL[tmpl].format(word=("closer to" if closer else "farther from"), p1=P.text(i), p2=P.text(j))
                op = "lt" if closer else "gt"
                rows.add(task, fmt, question=q, answer=yes_no(want), object_ids=[],
                         program=f"answer = {op}(cam_dist({P.call(i)}), cam_dist({P.call(j)}))")


# question templates compiled once (text.Template): the same text as str.format, without re-parsing
POINT_FREE = templates(POINT_FREE)
POINT_CHOICE = templates(POINT_CHOICE)
POINT_BOOL = templates(POINT_BOOL)
ORDER_FREE = templates(ORDER_FREE)
ORDER_CHOICE = templates(ORDER_CHOICE)
ORDER_BOOL = templates(ORDER_BOOL)
