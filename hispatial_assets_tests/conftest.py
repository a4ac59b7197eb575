"""Shared fixtures: tiny drops built on the fly, a temporary data root and Dagster instance."""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

from hispatial_assets.geometry.camera import intrinsics_from_fov  # noqa: E402
from hispatial_assets.storage import io  # noqa: E402
from hispatial_assets.storage.layout import DataRoot  # noqa: E402


@pytest.fixture
def data_root(tmp_path) -> DataRoot:
    return DataRoot.resolve(str(tmp_path / "root"))


def write_sensor_drop(root: DataRoot, drop_id: str, n_images: int = 3, *, size=(64, 48), seed: int = 0,
                      ready: bool = True) -> list[str]:
    """A tiny RGB-D drop: random images, a planar depth ramp (mm, 16-bit PNG) and intrinsics."""
    from PIL import Image
    import io as _io

    rng = np.random.default_rng(seed)
    w, h = size
    K = intrinsics_from_fov(w, h, 60.0)
    ids = []
    for i in range(n_images):
        stem = io.join(root.drop_uri(drop_id), f"img_{i:03d}")
        rgb = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
        io.write_bytes(stem + ".png", io.encode_png(rgb))
        depth_mm = (1000 + 20 * np.arange(h)[:, None] + 5 * np.arange(w)[None, :] + 100 * i).astype(np.uint16)
        buf = _io.BytesIO()
        Image.fromarray(depth_mm).save(buf, format="PNG")
        io.write_bytes(stem + ".depth.png", buf.getvalue())
        io.write_json(stem + ".intrinsics.json", {"intrinsics": K.tolist()})
        ids.append(f"img_{i:03d}")
    if ready:
        io.write_bytes(io.join(root.drop_uri(drop_id), "_READY"), b"")
    return ids


@pytest.fixture
def instance(tmp_path):
    import dagster as dg

    home = tmp_path / "dagster_home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home)) as inst:
        yield inst


def inflate_truth_sizes(drop_dir, factor: float = 2.0) -> int:
    """Corrupt a scene-engine drop's ground truth: every object's 3D box ``factor`` times its size (masks, depth
    and pixels untouched), so estimated objects stop matching the truth. Returns the objects changed."""
    import json
    from pathlib import Path

    changed = 0
    for path in sorted(Path(drop_dir).glob("*.truth.json")):
        truth = json.loads(path.read_text())
        for obj in truth["objects"]:
            obj["extents"] = [factor * e for e in obj["extents"]]
            changed += 1
        path.write_text(json.dumps(truth))
    return changed
