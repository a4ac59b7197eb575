"""Geometry-stage benchmark on scene-engine images: boxes, gravity and throughput.

    python benchmarks/bench_geometry.py [--images 120] [--cache DIR]

Inputs are ground-truth masks and a *degraded* ground-truth point map (perception/noise.py:
depth-proportional noise along the ray, flying pixels at depth edges, 5% holes; a second pass adds
the 5% per-image scale error of monocular estimators). Prints:

- boxes of untruncated objects with visible_fraction >= 0.9: median center error (m; and
  normalized to 2 m distance: error * 2 / distance), median relative size error, median yaw error
  (modulo box symmetry), against the scene engine's truth;
- floor_ransac: share of indoor images with the up vector within 2° (roll/pitch up to 15°);
- throughput: images/s on one core (threads pinned to 1 before numpy loads) for gravity + boxes +
  orientation of 512x384 images with their objects (rendering and detection excluded).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"  # the per-core figure: set before numpy is imported

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from hispatial_assets.geometry.boxes import fit_boxes  # noqa: E402
from hispatial_assets.geometry.camera import unproject  # noqa: E402
from hispatial_assets.geometry.frames import rotation_angle_deg  # noqa: E402
from hispatial_assets.geometry.gravity import floor_ransac  # noqa: E402
from hispatial_assets.geometry.metrics import box_errors  # noqa: E402
from hispatial_assets.geometry.orientation import box_front_yaw  # noqa: E402
from hispatial_assets.perception.noise import degrade_point_map  # noqa: E402


def scene_images(n: int, seed0: int, cache: Path | None) -> list[dict]:
    """Indoor scene-engine renders (depth, instances, intrinsics, rotation, truth), cached as .npz."""
    from hispatial_assets.scenes.layout import generate_scene
    from hispatial_assets.scenes.render import render

    out = []
    for k in range(n):
        seed = seed0 + k
        path = cache / f"indoor_{seed}.npz" if cache else None
        if path is not None and path.exists():
            z = np.load(path, allow_pickle=True)
            out.append({key: z[key] for key in z.files} | {"objects": list(z["objects"])})
            continue
        im = render(generate_scene(seed, "indoor"))
        item = {"seed": seed, "depth": im.depth, "instances": im.instances, "intrinsics": im.intrinsics,
                "rotation": im.rotation, "floor_height": im.floor_height, "roll": im.roll_deg,
                "pitch": im.pitch_deg, "objects": im.objects}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, **{k2: v for k2, v in item.items() if k2 != "objects"}, objects=np.array(im.objects, dtype=object))
        out.append(item)
    return out


def truth_boxes(objects: list[dict]) -> np.ndarray:
    return np.array([[*o["center"], *o["extents"], o["yaw"]] for o in objects], dtype=np.float64).reshape(-1, 7)


def run_boxes(images: list[dict], scale_sigma: float) -> pl.DataFrame:
    rows = []
    for im in images:
        objs = [o for o in im["objects"]]
        if not objs:
            continue
        truth_pm = unproject(im["depth"], im["intrinsics"])
        pm = degrade_point_map(truth_pm, seed=int(im["seed"]), scale_sigma=scale_sigma)
        masks = np.stack([im["instances"] == o["object_id"] for o in objs])
        fit = floor_ransac(pm, seed=int(im["seed"]))
        boxes = fit_boxes(pm, masks, fit.gravity.rotation, floor_height=fit.gravity.floor_height)
        pred = boxes.select("center_x", "center_y", "center_z", "width", "depth", "height", "yaw").to_numpy()
        truth = truth_boxes(objs)
        err = box_errors(pred, truth)
        rows.append(err.with_columns(
            label=pl.Series([o["label"] for o in objs]),
            distance=np.linalg.norm(truth[:, :2], axis=1),
            visible_fraction=np.array([o["visible_fraction"] for o in objs]),
            truncated=np.array([o["truncated"] for o in objs]),
            valid=boxes["valid"],
        ))
    return pl.concat(rows)


ROUND = ("bottle", "mug", "lamp", "stool", "plant", "trash_can", "tree")  # yaw of a round object is arbitrary


def report_boxes(df: pl.DataFrame, title: str) -> None:
    sel = df.filter(~pl.col("truncated") & (pl.col("visible_fraction") >= 0.9) & pl.col("valid"))
    yaw_rect = sel.filter(~pl.col("label").is_in(ROUND))["yaw_error_deg"].median()
    s = sel.select(
        pl.len().alias("objects"),
        pl.col("center_error").median().alias("center_m"),
        (pl.col("center_error") * 2.0 / pl.col("distance")).median().alias("center_at_2m"),
        pl.col("size_error").median().alias("size_rel"),
        pl.col("yaw_error_deg").median().alias("yaw_deg"),
        pl.col("size_error").quantile(0.9).alias("size_rel_p90"),
    ).row(0, named=True)
    print(f"{title}: {s['objects']} objects  median center {s['center_m']:.3f} m  "
          f"(at 2 m: {s['center_at_2m']:.3f} m)  size {100 * s['size_rel']:.1f}%  (p90 {100 * s['size_rel_p90']:.1f}%)  "
          f"yaw {s['yaw_deg']:.2f} deg (non-round objects: {yaw_rect:.2f} deg)")
    by_label = sel.group_by("label").agg(pl.len().alias("n"), pl.col("center_error").median().round(3).alias("center_m"),
                                         (pl.col("size_error").median() * 100).round(1).alias("size_%"),
                                         pl.col("yaw_error_deg").median().round(1).alias("yaw_deg")).sort("label")
    print(by_label)


def run_gravity(images: list[dict]) -> None:
    errs, found, times = [], [], []
    for im in images:
        pm = degrade_point_map(unproject(im["depth"], im["intrinsics"]), seed=int(im["seed"]))
        t0 = time.perf_counter()
        fit = floor_ransac(pm, seed=int(im["seed"]))
        times.append(time.perf_counter() - t0)
        errs.append(rotation_angle_deg(fit.gravity.rotation, im["rotation"]))
        found.append(fit.found)
    errs = np.array(errs)
    tilt = max(max(abs(float(im["roll"])), abs(float(im["pitch"]))) for im in images)
    print(f"floor_ransac: {np.mean(errs <= 2.0) * 100:.1f}% of {len(errs)} indoor images within 2 deg "
          f"(median {np.median(errs):.2f} deg, p95 {np.percentile(errs, 95):.2f}, max {errs.max():.2f}; "
          f"floor found {np.mean(found) * 100:.0f}%; max |roll|,|pitch| {tilt:.1f} deg; {1000 * np.median(times):.1f} ms)")


def run_throughput(images: list[dict], repeats: int = 3) -> None:
    prepared = []
    for im in images:
        objs = im["objects"]
        pm = degrade_point_map(unproject(im["depth"], im["intrinsics"]), seed=int(im["seed"]))
        masks = np.stack([im["instances"] == o["object_id"] for o in objs]) if objs else np.zeros((0, *im["depth"].shape), bool)
        prepared.append((pm, masks, int(im["seed"])))
    n_obj = np.mean([len(m) for _, m, _ in prepared])
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for pm, masks, seed in prepared:
            fit = floor_ransac(pm, seed=seed)
            b = fit_boxes(pm, masks, fit.gravity.rotation, floor_height=fit.gravity.floor_height)
            box_front_yaw(b["yaw"].to_numpy(), b["width"].to_numpy(), b["depth"].to_numpy(),
                          b["center_x"].to_numpy(), b["center_y"].to_numpy())
        best = min(best, time.perf_counter() - t0)
    h, w = prepared[0][0].shape
    print(f"throughput: {len(prepared) / best:.1f} images/s on one core ({1000 * best / len(prepared):.1f} ms/image; "
          f"{w}x{h}, {n_obj:.1f} objects/image; gravity + boxes + orientation)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=120, help="indoor scene-engine images (>= 100)")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--cache", type=Path, default=None, help="folder to cache renders in (.npz)")
    args = ap.parse_args()
    t0 = time.perf_counter()
    images = scene_images(args.images, args.seed, args.cache)
    print(f"rendered/loaded {len(images)} indoor images in {time.perf_counter() - t0:.0f} s")
    report_boxes(run_boxes(images, scale_sigma=0.0), "boxes (noise + flying + holes)")
    report_boxes(run_boxes(images, scale_sigma=0.05), "boxes (+ 5% scale error)")
    run_gravity(images)
    run_throughput(images[: min(40, len(images))])


if __name__ == "__main__":
    main()
