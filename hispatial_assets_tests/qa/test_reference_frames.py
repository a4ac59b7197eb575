"""QA synthesis output stays row-for-row, byte-for-byte what it was when the reference was written.

The generators are rewritten for readability from time to time; this pins what they produce. Each
case (inputs x config) is generated whole and every (level, task) slice of its frame is hashed
(schema order, each row as canonical JSON); `reference/frames.json` holds the hashes and row counts
written by the code of commit 3403a46. The inputs are frozen too, so only the generators are pinned:
the hand-built scenes of `scenes.py`, and the objects, referrals and (subsampled) depth maps of a
scene-engine demo drop (6 indoor, 2 outdoor images) in `reference/`.

A change that is meant to change the output rewrites the reference, and says so in its commit:

    python -m hispatial_assets_tests.qa.test_reference_frames --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from hispatial_assets.geometry.camera import unproject
from hispatial_assets.qa import ImageInputs, QAConfig, generate_all
from hispatial_assets.schema import QA

from .scenes import image_inputs, point_map

REFERENCE = Path(__file__).with_name("reference")
FRAMES = REFERENCE / "frames.json"
SCENE_DROP = REFERENCE / "scene_drop.parquet"  # objects + referral columns QA reads, one row per object
SCENE_DEPTH = REFERENCE / "scene_depth_mm.npz"  # uint16 mm depth per image id, plus its intrinsics
_OBJECT_COLUMNS = ("drop_id", "image_id", "object_id", "label", "box_x0", "box_y0", "box_x1", "box_y1",
                   "center_x", "center_y", "center_z", "width", "depth", "height", "yaw", "front_yaw",
                   "truncated", "occluded")
_REFERRAL_COLUMNS = ("expression", "method")
_DEPTH_STEP = 8  # depth maps are stored at 1/8 of the rendered resolution (64 x 48)


def scene_drop() -> list[ImageInputs]:
    """The frozen scene-engine drop: 8 images (img_0003 and img_0007 outdoor), 4 with point maps."""
    table = pl.read_parquet(SCENE_DROP)
    depth = np.load(SCENE_DEPTH)
    images = []
    for (image_id,), rows in table.group_by("image_id", maintain_order=True):
        pm = None
        if image_id in depth:
            pm = unproject(depth[image_id].astype(np.float32) / 1000.0, depth[f"{image_id}.intrinsics"])
        images.append(ImageInputs(
            drop_id=rows["drop_id"][0], image_id=image_id, width=512, height=384,
            objects=rows.select(_OBJECT_COLUMNS), referrals=rows.select("drop_id", "image_id", "object_id", *_REFERRAL_COLUMNS),
            point_map=pm, input_versions={"objects": "scene", "image": image_id}))
    return images


def freeze_scene_drop(root: str, drop_id: str = "demo_000", depth_images: tuple[str, ...] = (
        "img_0000", "img_0001", "img_0003", "img_0007")) -> None:
    """Write `reference/scene_drop.parquet` and `scene_depth_mm.npz` from a demo data root
    (`hispatial demo --root ROOT --drops 1 --images 8`)."""
    from hispatial_assets.scenes.truth_io import load_truth

    objects = pl.read_parquet(f"{root}/tables/objects/drop_id={drop_id}/part.parquet").select(_OBJECT_COLUMNS)
    referrals = pl.read_parquet(f"{root}/tables/referrals/drop_id={drop_id}/part.parquet")
    table = objects.join(referrals.select("image_id", "object_id", *_REFERRAL_COLUMNS), on=["image_id", "object_id"],
                         how="left", maintain_order="left")
    table.write_parquet(SCENE_DROP, compression="zstd", compression_level=22, statistics=False)
    arrays = {}
    for image_id in depth_images:
        truth = load_truth(f"{root}/drops/{drop_id}/{image_id}")
        s = _DEPTH_STEP
        mm = np.round(np.nan_to_num(truth.depth[s // 2::s, s // 2::s].astype(np.float64)) * 1000.0)
        arrays[image_id] = np.where((mm > 0) & (mm <= 65535), mm, 0).astype(np.uint16)
        K = truth.intrinsics.copy()
        K[:2] /= s
        arrays[f"{image_id}.intrinsics"] = K
    np.savez_compressed(SCENE_DEPTH, **arrays)


def _sparse_point_maps() -> list[ImageInputs]:
    """Hand-built images whose point maps are mostly invalid: the pixel pool's slower paths."""
    out = []
    for seed, invalid in ((40, 0.6), (41, 0.93), (42, 0.9995), (43, 0.9999)):
        im = image_inputs(seed)
        pm = point_map(seed)
        keep = np.random.default_rng(seed).random(pm.mask.shape) >= invalid
        depth = np.where(keep & pm.mask, pm.xyz[..., 2], 0.0)
        out.append(ImageInputs(**{**im.__dict__, "point_map": unproject(depth, pm.intrinsics)}))
    return out


def _object_counts() -> list[ImageInputs]:
    """Images with 1 to 40 objects (the samplers' small-pool and large-pool paths), and none."""
    images = [image_inputs(100 + n, n=n) for n in (1, 2, 3, 4, 6, 22, 25, 40)]
    return images + [ImageInputs("d0", "empty", 640, 480)]


def _phraser(task: str, question: str) -> str | None:
    return None if len(question) % 3 == 0 else f"[{task}] " + " ".join(reversed(question.split(" ")))


@dataclass(frozen=True)
class Case:
    images: Callable[[], list[ImageInputs]]
    config: QAConfig
    phrase_tasks: tuple[str, ...] = ()
    levels: tuple[int, ...] = (0, 1, 2, 3)
    per_level: bool = False  # one generate_all call per level (as the qa_l* assets run), else one for all


def _handbuilt(n_images: int, first: int = 0) -> Callable[[], list[ImageInputs]]:
    return lambda: [image_inputs(seed) for seed in range(first, first + n_images)]


CASES: dict[str, Case] = {
    "handbuilt/metric/seed7": Case(_handbuilt(24), QAConfig(seed=7)),
    "handbuilt/mixed/seed3": Case(_handbuilt(24), QAConfig(seed=3, units="mixed")),
    "handbuilt/metric/seed0/density0.5/per_level": Case(_handbuilt(12, 30), QAConfig(seed=0, density=0.5), per_level=True),
    "handbuilt/mixed/seed11/density2": Case(_handbuilt(12, 50), QAConfig(seed=11, units="mixed", density=2.0)),
    "handbuilt/metric/seed5/max60/free+boolean": Case(_handbuilt(10, 70), QAConfig(
        seed=5, max_per_image=60, formats=("free", "boolean"))),
    "handbuilt/mixed/seed9/tasks/no_fallback/choice+boolean": Case(_handbuilt(10, 80), QAConfig(
        seed=9, units="mixed", allow_fallback=False, formats=("choice", "boolean"),
        tasks=("depth_order", "object_size", "compare", "rank", "count_constrained", "multi_step"))),
    "handbuilt/metric/seed2/object_counts": Case(_object_counts, QAConfig(seed=2)),
    "handbuilt/mixed/seed4/object_counts": Case(_object_counts, QAConfig(seed=4, units="mixed", density=1.5)),
    "handbuilt/metric/seed6/sparse_point_maps": Case(_sparse_point_maps, QAConfig(seed=6), levels=(0,)),
    "handbuilt/metric/seed8/phraser": Case(_handbuilt(6, 90), QAConfig(seed=8),
                                           phrase_tasks=("multi_step", "direction", "point_3d")),
    "scene/metric/seed0": Case(scene_drop, QAConfig(seed=0)),
    "scene/metric/seed5/per_level": Case(scene_drop, QAConfig(seed=5), per_level=True),
    "scene/mixed/seed1": Case(scene_drop, QAConfig(seed=1, units="mixed")),
    "scene/mixed/seed9/density2": Case(scene_drop, QAConfig(seed=9, units="mixed", density=2.0)),
    "scene/metric/seed12/density0.3": Case(scene_drop, QAConfig(seed=12, density=0.3)),
}


def generate(case: Case) -> pl.DataFrame:
    images = case.images()
    phrase = {"phraser": _phraser, "phrase_tasks": case.phrase_tasks} if case.phrase_tasks else {}
    if case.per_level:
        return pl.concat([generate_all(images, case.config, levels=(lvl,), **phrase) for lvl in case.levels])
    return generate_all(images, case.config, levels=case.levels, **phrase)


def fingerprint(qa: pl.DataFrame) -> dict[str, str]:
    """{"L<level>/<task>": "<rows> rows, sha256 <first 16 hex digits>"} over every row, in frame order."""
    assert qa.schema == pl.Schema(QA)
    level, task = qa.columns.index("level"), qa.columns.index("task")
    slices: dict = {}
    counts: dict[str, int] = {}
    for row in qa.iter_rows():
        key = f"L{row[level]}/{row[task]}"
        h = slices.get(key) or slices.setdefault(key, hashlib.sha256())
        h.update(json.dumps(row, ensure_ascii=False).encode() + b"\n")
        counts[key] = counts.get(key, 0) + 1
    return {k: f"{counts[k]} rows, sha256 {slices[k].hexdigest()[:16]}" for k in sorted(slices)}


@pytest.mark.parametrize("name", list(CASES))
def test_output_equals_the_reference(name):
    expected = json.loads(FRAMES.read_text())[name]
    actual = fingerprint(generate(CASES[name]))
    changed = {k: (expected.get(k), actual.get(k)) for k in expected.keys() | actual.keys()
               if expected.get(k) != actual.get(k)}
    assert not changed, f"{name}: output differs from the reference in {sorted(changed)}: {changed}"


def test_the_reference_covers_every_task_format_unit_and_scene_kind():
    frames = json.loads(FRAMES.read_text())
    tasks = {k.split("/")[1] for case in frames.values() for k in case}
    from hispatial_assets.qa import TASKS
    assert tasks == set(TASKS)
    assert sum(int(v.split()[0]) for v in frames["scene/metric/seed0"].values()) > 2000
    assert any(k.startswith("L0/") for k in frames["scene/mixed/seed1"])  # scene-engine point maps
    assert any(k.startswith("L0/") for k in frames["handbuilt/metric/seed6/sparse_point_maps"])
    kinds = {im.image_id: len(im.objects) for im in scene_drop()}
    assert len(kinds) == 8 and min(kinds.values()) >= 5


def test_a_changed_row_changes_the_fingerprint():
    qa = generate(CASES["scene/metric/seed12/density0.3"])
    base = fingerprint(qa)
    i = qa["task"].to_list().index("compare")
    swapped = qa.with_columns(pl.when(pl.int_range(pl.len()) == i).then(pl.col("answer") + " ")
                              .otherwise(pl.col("answer")).alias("answer"))
    changed = fingerprint(swapped)
    assert {k for k in base if base[k] != changed[k]} == {"L2/compare"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="rewrite reference/frames.json from the current code")
    ap.add_argument("--freeze-scene-drop", metavar="ROOT", help="rewrite the frozen scene-engine inputs from a demo root")
    args = ap.parse_args()
    if args.freeze_scene_drop:
        freeze_scene_drop(args.freeze_scene_drop)
    if args.write:
        frames = {name: fingerprint(generate(case)) for name, case in CASES.items()}
        FRAMES.write_text(json.dumps(frames, indent=1, sort_keys=True) + "\n")
        rows = sum(int(v.split()[0]) for f in frames.values() for v in f.values())
        print(f"wrote {FRAMES}: {rows} rows in {len(frames)} cases")


if __name__ == "__main__":
    main()
