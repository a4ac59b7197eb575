"""What QA synthesis reads for one image, as flat numpy arrays."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.perception.referral.common import fallback_expression


@dataclass
class ImageInputs:
    """One image's inputs to QA synthesis.

    ``objects``: schema.OBJECTS rows of this image (gravity frame). ``referrals``: schema.REFERRALS rows
    (an object without one gets the class + box fallback expression). ``point_map``: camera frame, for
    L0. ``rotation``: camera-to-gravity (3×3); the tasks only need the camera position, which is the
    origin of both frames, so it is optional and carried for completeness. ``input_versions``: JSON
    text (or a dict) copied into every row.
    """

    drop_id: str
    image_id: str
    width: int
    height: int
    objects: pl.DataFrame | None = None
    referrals: pl.DataFrame | None = None
    point_map: PointMap | None = None
    rotation: np.ndarray | None = None
    input_versions: str | dict = field(default="{}")

    def versions_json(self) -> str:
        v = self.input_versions
        return v if isinstance(v, str) else json.dumps(v, sort_keys=True)


_NUM_COLS = ("center_x", "center_y", "center_z", "width", "depth", "height", "yaw", "front_yaw",
             "box_x0", "box_y0", "box_x1", "box_y1")


class SceneObjects:
    """Objects of one image: ids, labels, referring expressions and gravity-frame geometry."""

    def __init__(self, image: ImageInputs, allow_fallback: bool = True) -> None:
        df = image.objects
        n = self.n = 0 if df is None else len(df)
        # Plain column lists and one 2-D numpy array: per-call polars and numpy overhead dominates at
        # ~10 objects, so the columns are read once and converted together.
        if n:
            present = set(df.columns)
            raw_ids = df.get_column("object_id").to_list()
            ids_sorted = all(raw_ids[k] < raw_ids[k + 1] for k in range(n - 1))
            order = None if ids_sorted else sorted(range(n), key=raw_ids.__getitem__)  # stable
            num = [df.get_column(c).to_list() if c in present else None for c in _NUM_COLS]
            # None (null) -> nan; a missing column -> nan
            M = np.array([v if v is not None else [None] * n for v in num], dtype=np.float64)
            if order is not None:
                M = M[:, order]
            labels = df.get_column("label").to_list()
            flags = [False] * n
            for c in ("truncated", "occluded"):
                if c in present:
                    flags = [f or bool(x) for f, x in zip(flags, df.get_column(c).to_list())]
            if order is not None:
                raw_ids = [raw_ids[k] for k in order]
                labels = [labels[k] for k in order]
                flags = [flags[k] for k in order]
            self.id_list = [int(x) for x in raw_ids]
            self.ids = np.array(self.id_list, dtype=np.int64)
            self.labels = [str(x).replace("_", " ") for x in labels]
            self.center = M[0:3].T.copy()
            self.whd = M[3:6].T.copy()
            yaw = M[6]
            self.yaw = np.where(np.isnan(yaw), 0.0, yaw)
            self.front = M[7].copy()
            self._box_m = M[8:12]
            flag_arr = np.array(flags, dtype=bool)
            self.size_ok = ~flag_arr & np.all(self.whd > 0.0, axis=1)
            self.volume = self.whd.prod(axis=1)
            self.cam_dist = np.linalg.norm(self.center, axis=1)
        else:
            self.ids = np.zeros(0, np.int64)
            self.id_list = []
            self.labels = []
            self.center = np.zeros((0, 3))
            self.whd = np.zeros((0, 3))
            self.yaw = np.zeros(0)
            self.front = np.zeros(0)
            self._box_m = np.zeros((4, 0))
            self.size_ok = np.zeros(0, dtype=bool)
            self.volume = np.zeros(0)
            self.cam_dist = np.zeros(0)

        expr: dict[int, tuple[str, str]] = {}
        ref = image.referrals
        if ref is not None and len(ref):
            for oid, e, m in zip(ref["object_id"].to_list(), ref["expression"].to_list(), ref["method"].to_list()):
                if e:
                    expr[int(oid)] = (str(e), str(m))
        self.expr: list[str] = []
        self.method: list[str] = []
        boxes = None
        seen: set[str] = set()
        for i, oid in enumerate(self.id_list):
            e, m = expr.get(oid, (None, "fallback"))
            if e is None or e in seen:  # a missing or duplicated expression would be ambiguous
                if boxes is None:
                    boxes = np.where(np.isnan(self._box_m), 0.0, self._box_m).T
                e, m = fallback_expression(self.labels[i], boxes[i], image.width, image.height), "fallback"
            seen.add(e)
            self.expr.append(e)
            self.method.append(m)
        self.expr_cap = [e[:1].upper() + e[1:] for e in self.expr]  # at the start of a sentence
        self.referable = np.array([allow_fallback or m != "fallback" for m in self.method], dtype=bool)
        self.ref_idx = np.flatnonzero(self.referable)
        self.has_front = np.isfinite(self.front)

        # Plain-Python views for the per-question loops (numpy scalar indexing is slow there)
        self.centers: list[tuple[float, float, float]] = [tuple(c) for c in self.center.tolist()]
        self.extents: list[list[float]] = self.whd.tolist()  # (width, depth, height)
        self.footprint_min: list[float] = [min(w, d) for w, d, _h in self.extents]
        self.sized: list[bool] = self.size_ok.tolist()  # sizes may be asked
        self.ref_list: list[int] = self.ref_idx.tolist()
        self.cos_yaw: list[float] = np.cos(self.yaw).tolist() if n else []
        self.sin_yaw: list[float] = np.sin(self.yaw).tolist() if n else []
        by_label: dict[str, list[int]] = {}
        for i, lab in enumerate(self.labels):
            by_label.setdefault(lab, []).append(i)
        self.by_label = by_label
        self._gap: list[list[float]] | None = None

    def gap_matrix(self) -> list[list[float]]:
        """gap[i][j]: `program.gap(self, i, j)` for every pair, vectorized (same arithmetic)."""
        if self._gap is None:
            c2 = self.center[:, :2]
            d = c2[None, :, :] - c2[:, None, :]  # d[i, j] = c_j - c_i
            dist = np.hypot(d[..., 0], d[..., 1])
            with np.errstate(invalid="ignore", divide="ignore"):
                u0, u1 = d[..., 0] / dist, d[..., 1] / dist
                c, s = self.cos_yaw_arr(), self.sin_yaw_arr()
                w, dp = self.whd[:, 0], self.whd[:, 1]

                def he(cc, ss, ww, dd):
                    return np.abs(u0 * cc + u1 * ss) * ww / 2 + np.abs(-u0 * ss + u1 * cc) * dd / 2

                hi = he(c[:, None], s[:, None], w[:, None], dp[:, None])
                hj = he(c[None, :], s[None, :], w[None, :], dp[None, :])
                g = dist - hi - hj
            g[dist < 1e-9] = -1.0
            self._gap = g.tolist()
        return self._gap

    def cos_yaw_arr(self) -> np.ndarray:
        return np.asarray(self.cos_yaw, dtype=np.float64)

    def sin_yaw_arr(self) -> np.ndarray:
        return np.asarray(self.sin_yaw, dtype=np.float64)
