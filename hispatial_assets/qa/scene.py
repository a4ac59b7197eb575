"""What QA synthesis reads for one image, as flat numpy arrays."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.perception.referral.common import fallback_expression
from hispatial_assets.qa.rows import jstr


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


class SceneObjects:
    """Objects of one image: ids, labels, referring expressions and gravity-frame geometry."""

    def __init__(self, image: ImageInputs, allow_fallback: bool = True) -> None:
        df = image.objects
        if df is None or len(df) == 0:
            df = pl.DataFrame({"object_id": pl.Series([], dtype=pl.Int32)})
            self.n = 0
        else:
            df = df.sort("object_id")
            self.n = len(df)
        n = self.n
        self.ids = df["object_id"].cast(pl.Int64).to_numpy() if n else np.zeros(0, np.int64)
        self.id_list = [int(i) for i in self.ids]
        self.labels = [str(s).replace("_", " ") for s in df["label"].to_list()] if n else []

        num_cols = ("center_x", "center_y", "center_z", "width", "depth", "height", "yaw", "front_yaw",
                    "box_x0", "box_y0", "box_x1", "box_y1")
        if n:
            present = [c for c in num_cols if c in df.columns]
            arr = df.select([pl.col(c).cast(pl.Float64) for c in present]).to_numpy().astype(np.float64)
            cols = {c: arr[:, k] for k, c in enumerate(present)}
        else:
            cols = {}

        def col(name: str, default: float = np.nan) -> np.ndarray:
            v = cols.get(name)
            if v is None:
                return np.full(n, default)
            return np.where(np.isnan(v), default, v) if not np.isnan(default) else v

        self.center = np.stack([col("center_x"), col("center_y"), col("center_z")], axis=1) if n else np.zeros((0, 3))
        self.whd = np.stack([col("width"), col("depth"), col("height")], axis=1) if n else np.zeros((0, 3))
        self.yaw = col("yaw", 0.0)
        self.front = col("front_yaw")
        flags = np.zeros(n, dtype=bool)
        for c in ("truncated", "occluded"):
            if n and c in df.columns:
                flags |= np.array([bool(x) for x in df[c].to_list()], dtype=bool)
        self.size_ok = ~flags & np.all(self.whd > 0.0, axis=1) if n else flags
        self.volume = self.whd.prod(axis=1) if n else np.zeros(0)
        self.cam_dist = np.linalg.norm(self.center, axis=1) if n else np.zeros(0)

        expr: dict[int, tuple[str, str]] = {}
        ref = image.referrals
        if ref is not None and len(ref):
            for oid, e, m in zip(ref["object_id"].to_list(), ref["expression"].to_list(), ref["method"].to_list()):
                if e:
                    expr[int(oid)] = (str(e), str(m))
        self.expr: list[str] = []
        self.method: list[str] = []
        boxes = (np.stack([col("box_x0", 0.0), col("box_y0", 0.0), col("box_x1", 0.0), col("box_y1", 0.0)], axis=1)
                 if n else np.zeros((0, 4)))
        seen: set[str] = set()
        for i, oid in enumerate(self.id_list):
            e, m = expr.get(oid, (None, "fallback"))
            if e is None or e in seen:  # a missing or duplicated expression would be ambiguous
                e, m = fallback_expression(self.labels[i], boxes[i], image.width, image.height), "fallback"
            seen.add(e)
            self.expr.append(e)
            self.method.append(m)
        self.expr_json = [jstr(e) for e in self.expr]
        self.referable = np.array([allow_fallback or m != "fallback" for m in self.method], dtype=bool)
        self.ref_idx = np.flatnonzero(self.referable)
        self.has_front = np.isfinite(self.front)
