"""The box fitter against the plain baseline on scene-engine renders, under both noise models.

The benchmark (benchmarks/bench_geometry.py) states the figures on 120 images; this keeps the claim
that matters in CI on a few: whatever the depth noise — monocular (i.i.d., flying pixels) or stereo
(correlated, quantized, growing as z^2, dropouts) — the fitter's boxes are closer to the truth in
size than the plain axis-aligned box of the masked points, and never farther in center.
"""

from __future__ import annotations

import numpy as np
import pytest

from hispatial_assets.geometry.boxes import axis_aligned_boxes, fit_boxes
from hispatial_assets.geometry.camera import unproject
from hispatial_assets.geometry.metrics import box_errors
from hispatial_assets.perception.noise import degrade_point_map, stereo_point_map
from hispatial_assets.scenes import generate_scene, render

SEEDS = tuple(range(21, 31))
NOISE = {
    "monocular": lambda pm, im: degrade_point_map(pm, seed=im.seed, scale_sigma=0.0),
    "stereo": lambda pm, im: stereo_point_map(pm, seed=im.seed, rgb=im.rgb),
}


@pytest.fixture(scope="module")
def renders():
    return [render(generate_scene(seed, "indoor")) for seed in SEEDS]


def errors(renders, noise) -> dict[str, np.ndarray]:
    """Center and size errors of fitter and plain box over the untruncated, >= 90% visible objects."""
    out = {"fitter": [], "plain": []}
    for im in renders:
        objs = [o for o in im.objects if not o["truncated"] and o["visible_fraction"] >= 0.9]
        if not objs:
            continue
        pm = noise(unproject(im.depth, im.intrinsics), im)
        masks = np.stack([im.instances == o["object_id"] for o in objs])
        truth = np.array([[*o["center"], *o["extents"], o["yaw"]] for o in objs])
        fitted = fit_boxes(pm, masks, im.rotation, labels=[o["label"] for o in objs], floor_height=im.floor_height)
        plain = axis_aligned_boxes(pm, masks, im.rotation)
        for name, table in (("fitter", fitted), ("plain", plain)):
            e = box_errors(table, truth).with_columns(valid=table["valid"])
            out[name].append(e.filter(e["valid"]).select("center_error", "size_error").to_numpy())
    return {k: np.concatenate(v) for k, v in out.items()}


@pytest.mark.parametrize("noise", sorted(NOISE))
def test_fitter_beats_the_plain_box_in_size_and_never_loses_in_center(renders, noise):
    e = errors(renders, NOISE[noise])
    assert len(e["fitter"]) >= 30
    fitter_center, fitter_size = np.median(e["fitter"], axis=0)
    plain_center, plain_size = np.median(e["plain"], axis=0)
    assert fitter_size < plain_size
    assert fitter_size <= 0.10
    assert fitter_center <= plain_center
    # the tail on ~40 objects: a few far small objects whose correlated stereo noise shifts them as a
    # whole decide it, so the benchmark (436 objects) states it; here it must not be clearly worse
    assert np.quantile(e["fitter"][:, 0], 0.9) <= np.quantile(e["plain"][:, 0], 0.9) + 0.03
