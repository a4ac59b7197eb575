"""Where everything lives under a data root (DESIGN §6, §8).

    ROOT/drops/<drop_id>/...                                  input images (+ sidecars, _READY)
    ROOT/tables/<table>/drop_id=<id>[/level=<L>]/part.parquet   hive-style Parquet per partition
    ROOT/arrays/point_maps/drop_id=<id>/<image_id>.npz          compact point maps
    ROOT/arrays/exact_point_maps/drop_id=<id>/<image_id>.npz    exact maps from scene-engine truth (rgb_gt_xyz)
    ROOT/tables/<table>/recipe=<r>[/benchmark=<b>]/part.parquet training data, checkpoints, scores
    ROOT/models/recipe=<r>/step_<N>/                          checkpoints (safetensors)
    ROOT/lineage/asset=<asset>/<partition>/<time>-<run>.parquet one record per materialization
    ROOT/catalog/hispatial.duckdb                               views over all of the above
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from hispatial_assets.storage import io

DROP_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class InvalidDropId(ValueError):
    pass


def check_drop_id(drop_id: str) -> str:
    """Drop ids become partition keys and path segments: keep them boring (the whole id must match:
    ``re.match`` with ``$`` would let a trailing newline through)."""
    if not isinstance(drop_id, str) or not DROP_ID.fullmatch(drop_id) or ".." in drop_id:
        raise InvalidDropId(
            f"invalid drop id {drop_id!r}: use 1-128 letters, digits, '_', '-', '.', starting with a letter or digit"
        )
    return drop_id


def resolve_root(root: str | None = None) -> str:
    """--root, else $HISPATIAL_ROOT, else ./data; local paths become absolute."""
    root = root or os.environ.get("HISPATIAL_ROOT") or "data"
    if "://" not in root or root.startswith("file://"):
        root = os.path.abspath(root.removeprefix("file://"))
    return root.rstrip("/")


@dataclass(frozen=True)
class DataRoot:
    root: str

    @classmethod
    def resolve(cls, root: str | None = None) -> DataRoot:
        return cls(resolve_root(root))

    @property
    def is_local(self) -> bool:
        return "://" not in self.root

    def drops_uri(self) -> str:
        return io.join(self.root, "drops")

    def drop_uri(self, drop_id: str) -> str:
        return io.join(self.root, "drops", check_drop_id(drop_id))

    def table_dir(self, table: str) -> str:
        return io.join(self.root, "tables", table)

    def table_uri(self, table: str, drop_id: str, **sub: object) -> str:
        """``tables/<table>/drop_id=<id>[/<key>=<value>...]/part.parquet`` (e.g. level=2, stage=...)."""
        parts = [f"drop_id={check_drop_id(drop_id)}"] + [f"{k}={v}" for k, v in sub.items() if v is not None]
        return io.join(self.table_dir(table), *parts, "part.parquet")

    def recipe_table_uri(self, table: str, recipe: str, **sub: object) -> str:
        """``tables/<table>/recipe=<r>[/<key>=<value>...]/part.parquet`` (sft rows, checkpoints, scores)."""
        parts = [f"recipe={recipe}"] + [f"{k}={v}" for k, v in sub.items() if v is not None]
        return io.join(self.table_dir(table), *parts, "part.parquet")

    def model_dir(self, recipe: str) -> str:
        """``models/recipe=<r>/``: a recipe's checkpoints (one folder per saved step)."""
        return io.join(self.root, "models", f"recipe={recipe}")

    def point_map_uri(self, drop_id: str, image_id: str) -> str:
        return io.join(self.root, "arrays", "point_maps", f"drop_id={check_drop_id(drop_id)}", f"{image_id}.npz")

    def exact_point_map_uri(self, drop_id: str, image_id: str) -> str:
        """The scene engine's exact point map, cached for the ``rgb_gt_xyz`` recipe (``point_maps`` may be estimated)."""
        return io.join(self.root, "arrays", "exact_point_maps", f"drop_id={check_drop_id(drop_id)}", f"{image_id}.npz")

    def lineage_dir(self) -> str:
        return io.join(self.root, "lineage")

    def catalog_path(self) -> str:
        """The DuckDB file is always local; for remote roots it lives under $HISPATIAL_CATALOG_DIR or ./catalog."""
        if self.is_local:
            return os.path.join(self.root, "catalog", "hispatial.duckdb")
        base = os.environ.get("HISPATIAL_CATALOG_DIR", os.path.abspath("catalog"))
        return os.path.join(base, "hispatial.duckdb")
