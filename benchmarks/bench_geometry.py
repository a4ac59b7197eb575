"""Geometry-stage benchmark on scene-engine images: boxes on two noise models, gravity and throughput.

    python benchmarks/bench_geometry.py [--images 120] [--cache DIR] [--held-out] [--by-class]

Inputs are ground-truth masks and a *degraded* ground-truth point map, under two noise models that
err differently (perception/noise.py), so that the fitter is not tuned to one of them:

- ``monocular``: depth-proportional i.i.d. noise along the ray (1%), flying pixels at depth edges,
  5% holes in blobs (``degrade_point_map``, no scale error);
- ``stereo``: disparity noise, spatially correlated and quantized to 1/8 px, so sigma grows as z^2;
  occlusion shadows, dropouts at depth edges and on dark surfaces (``stereo_point_map``).

Boxes are scored on untruncated objects with visible_fraction >= 0.9, for the fitter
(``geometry.boxes.fit_boxes``) and for the plain baseline (``axis_aligned_boxes``: the gravity-frame
axis-aligned box of all masked points, no filtering). Per noise model and method: failed objects
(no box), median size error (mean relative error over width/depth/height), median and p90 center
error (m; and normalized to 2 m distance: error * 2 / distance), the worst class by median size
error, and median yaw error; then the issue's targets, PASS/FAIL. ``--held-out`` adds a check the
fitter was never tuned on: other seeds, half of them outdoor scenes (objects up to 25 m away), both
noise models at other strengths. A monocular pass with a 5% per-image scale error is printed for information (scale moves
centers by ~5% of the distance: no fitter can undo it).

Also: floor_ransac on the monocular maps (share of indoor images with the up vector within 2°), and
throughput in images/s on one core (threads pinned to 1 before numpy loads) for gravity + boxes +
orientation of 512x384 images with their objects (rendering, noise and detection excluded).
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
    os.environ[_v] = "1"  # the per-core figure: set before numpy is imported

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Callable  # noqa: E402

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402

from hispatial_assets.geometry.boxes import axis_aligned_boxes, fit_boxes  # noqa: E402
from hispatial_assets.geometry.camera import PointMap, unproject  # noqa: E402
from hispatial_assets.geometry.frames import rotation_angle_deg  # noqa: E402
from hispatial_assets.geometry.gravity import floor_ransac  # noqa: E402
from hispatial_assets.geometry.metrics import box_errors  # noqa: E402
from hispatial_assets.geometry.orientation import box_front_yaw  # noqa: E402
from hispatial_assets.perception.noise import degrade_point_map, stereo_point_map  # noqa: E402

# The targets (issue 12, item 5), per noise model.
TARGETS = {"size_median": 0.08, "center_p90_m": 0.10, "center_p90_at_2m": 0.05, "failed": 0.005,
           "worst_class_size": 0.25, "images_per_s": 20.0}
ROUND = ("bottle", "mug", "lamp", "stool", "plant", "trash_can", "tree")  # yaw of a round object is arbitrary

# name -> (point map truth, image) -> degraded point map
NoiseModel = Callable[[PointMap, dict], PointMap]
NOISE_MODELS: dict[str, NoiseModel] = {
    "monocular": lambda pm, im: degrade_point_map(pm, seed=int(im["seed"]), scale_sigma=0.0),
    "stereo": lambda pm, im: stereo_point_map(pm, seed=int(im["seed"]), rgb=im["rgb"]),
}
HELD_OUT_NOISE: dict[str, NoiseModel] = {  # other strengths, never tuned on (with HELD_OUT_SEED)
    "monocular 1.5%": lambda pm, im: degrade_point_map(pm, seed=int(im["seed"]), scale_sigma=0.0, noise_rel=0.015,
                                                       flying_fraction=0.3, hole_fraction=0.08, hole_blob_px=4.0),
    "stereo narrow": lambda pm, im: stereo_point_map(pm, seed=int(im["seed"]), rgb=im["rgb"], baseline_m=0.06,
                                                     disparity_sigma_px=0.15, correlation_px=1.0, subpixel=0.0625,
                                                     edge_px=2, dark_level=0.12),
}
HELD_OUT_SEED, HELD_OUT_KINDS = 9000, ("indoor", "outdoor")
SCALE_ERROR: dict[str, NoiseModel] = {
    "monocular + 5% scale": lambda pm, im: degrade_point_map(pm, seed=int(im["seed"]), scale_sigma=0.05),
}

# name -> (point map, masks, rotation, floor height, labels) -> boxes
Method = Callable[..., pl.DataFrame]
METHODS: dict[str, Method] = {
    "fitter": lambda pm, masks, R, floor, labels: fit_boxes(pm, masks, R, floor_height=floor, labels=labels),
    "plain box": lambda pm, masks, R, floor, labels: axis_aligned_boxes(pm, masks, R),
}


def scene_images(n: int, seed0: int, cache: Path | None, kinds: tuple[str, ...] = ("indoor",)) -> list[dict]:
    """Scene-engine renders (rgb, depth, instances, intrinsics, rotation, truth), cached as .npz.

    Image k is of kind ``kinds[k % len(kinds)]`` with seed ``seed0 + k``.
    """
    from hispatial_assets.scenes.layout import generate_scene
    from hispatial_assets.scenes.render import render

    out = []
    for k in range(n):
        seed, kind = seed0 + k, kinds[k % len(kinds)]
        path = cache / f"{kind}_{seed}.npz" if cache else None
        if path is not None and path.exists():
            z = np.load(path, allow_pickle=True)
            out.append({key: z[key] for key in z.files} | {"objects": list(z["objects"])})
            continue
        im = render(generate_scene(seed, kind))
        item = {"seed": seed, "kind": kind, "rgb": im.rgb, "depth": im.depth, "instances": im.instances,
                "intrinsics": im.intrinsics, "rotation": im.rotation, "floor_height": im.floor_height,
                "roll": im.roll_deg, "pitch": im.pitch_deg, "objects": im.objects}
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, **{k2: v for k2, v in item.items() if k2 != "objects"}, objects=np.array(im.objects, dtype=object))
        out.append(item)
    return out


def truth_boxes(objects: list[dict]) -> np.ndarray:
    return np.array([[*o["center"], *o["extents"], o["yaw"]] for o in objects], dtype=np.float64).reshape(-1, 7)


def object_masks(im: dict) -> np.ndarray:
    objs = im["objects"]
    if not objs:
        return np.zeros((0, *im["depth"].shape), dtype=bool)
    return np.stack([im["instances"] == o["object_id"] for o in objs])


def run_boxes(images: list[dict], noise: NoiseModel, methods: dict[str, Method]) -> pl.DataFrame:
    """One row per (method, object): errors against the truth and the object's visibility."""
    rows = []
    for im in images:
        objs = list(im["objects"])
        if not objs:
            continue
        pm = noise(unproject(im["depth"], im["intrinsics"]), im)
        masks = object_masks(im)
        labels = [o["label"] for o in objs]
        fit = floor_ransac(pm, seed=int(im["seed"]))
        truth = truth_boxes(objs)
        for name, method in methods.items():
            boxes = method(pm, masks, fit.gravity.rotation, fit.gravity.floor_height, labels)
            pred = boxes.select("center_x", "center_y", "center_z", "width", "depth", "height", "yaw").to_numpy()
            err = box_errors(pred, truth)
            swapped = err["swapped"].to_numpy()
            sizes = np.stack([np.where(swapped, pred[:, 4], pred[:, 3]), np.where(swapped, pred[:, 3], pred[:, 4]), pred[:, 5]], 1)
            size_rel = (sizes - truth[:, 3:6]) / truth[:, 3:6]  # signed, width/depth matched as box_errors does
            view = truth[:, :2] / np.linalg.norm(truth[:, :2], axis=1, keepdims=True)
            rows.append(err.with_columns(
                center_far=np.einsum("ij,ij->i", pred[:, :2] - truth[:, :2], view),  # + = too far from the camera
                center_up=pred[:, 2] - truth[:, 2],
                method=pl.lit(name), label=pl.Series(labels), seed=pl.lit(int(im["seed"])),
                distance=np.linalg.norm(truth[:, :2], axis=1),
                width_rel=size_rel[:, 0], depth_rel=size_rel[:, 1], height_rel=size_rel[:, 2],
                visible_fraction=np.array([o["visible_fraction"] for o in objs]),
                truncated=np.array([o["truncated"] for o in objs]),
                valid=boxes["valid"],
            ))
    return pl.concat(rows)


def scored(df: pl.DataFrame) -> pl.DataFrame:
    """The scored objects: untruncated, at least 90% visible."""
    return df.filter(~pl.col("truncated") & (pl.col("visible_fraction") >= 0.9))


def summary(df: pl.DataFrame) -> pl.DataFrame:
    """Per method: the figures the targets are stated in."""
    sel = scored(df)
    ok = sel.filter(pl.col("valid"))
    per_class = (ok.group_by("method", "label").agg(pl.col("size_error").median().alias("s"))
                 .sort("s", descending=True).group_by("method", maintain_order=True).first())
    return (
        ok.group_by("method").agg(
            pl.len().alias("fitted"),
            pl.col("size_error").median().alias("size_median"),
            pl.col("center_error").median().alias("center_median_m"),
            pl.col("center_error").quantile(0.9).alias("center_p90_m"),
            (pl.col("center_error") * 2.0 / pl.col("distance")).quantile(0.9).alias("center_p90_at_2m"),
            pl.col("yaw_error_deg").filter(~pl.col("label").is_in(ROUND)).median().alias("yaw_deg"),
        )
        .join(sel.group_by("method").agg(pl.len().alias("objects"), (~pl.col("valid")).mean().alias("failed")), on="method")
        .join(per_class.select("method", pl.col("label").alias("worst_class"), pl.col("s").alias("worst_class_size")), on="method")
        .sort("method", descending=True)
    )


def by_class(df: pl.DataFrame) -> pl.DataFrame:
    """Per class and method: count, failures, median size and center errors, lamp-style short heights."""
    sel = scored(df)
    return (sel.group_by("label", "method").agg(
        pl.len().alias("n"), (~pl.col("valid")).sum().alias("failed"),
        (pl.col("size_error").filter(pl.col("valid")).median() * 100).round(1).alias("size_%"),
        pl.col("center_error").filter(pl.col("valid")).median().round(3).alias("center_m"),
        pl.col("center_error").filter(pl.col("valid")).quantile(0.9).round(3).alias("center_p90_m"),
        pl.col("center_far").filter(pl.col("valid")).median().round(3).alias("far_m"),
        pl.col("center_up").filter(pl.col("valid")).median().round(3).alias("up_m"),
        (pl.col("width_rel").filter(pl.col("valid")).median() * 100).round(1).alias("width_%"),
        (pl.col("depth_rel").filter(pl.col("valid")).median() * 100).round(1).alias("depth_%"),
        (pl.col("height_rel").filter(pl.col("valid")).median() * 100).round(1).alias("height_%"),
        (pl.col("height_rel") < -0.2).filter(pl.col("valid")).sum().alias("short_20%"),
    ).sort("label", "method", descending=[False, True]))


def print_summary(title: str, s: pl.DataFrame, with_targets: bool) -> None:
    for r in s.iter_rows(named=True):
        line = (f"{title:<22} {r['method']:<9} {r['objects']:4d} objects  failed {100 * r['failed']:4.1f}%  "
                f"size {100 * r['size_median']:5.1f}%  center median {r['center_median_m']:.3f} m  "
                f"p90 {r['center_p90_m']:.3f} m (at 2 m {r['center_p90_at_2m']:.3f} m)  "
                f"worst class {r['worst_class']} {100 * r['worst_class_size']:.1f}%  yaw {r['yaw_deg']:.2f} deg")
        print(line)
    if not with_targets:
        return
    fitter = s.filter(pl.col("method") == "fitter").row(0, named=True)
    plain = s.filter(pl.col("method") == "plain box").row(0, named=True)
    checks = [(k, fitter[k] <= TARGETS[k]) for k in ("size_median", "center_p90_m", "center_p90_at_2m", "failed", "worst_class_size")]
    checks += [("size < plain", fitter["size_median"] < plain["size_median"]),
               ("center median <= plain", fitter["center_median_m"] <= plain["center_median_m"]),
               ("center p90 <= plain", fitter["center_p90_m"] <= plain["center_p90_m"])]
    print(f"{'':<22} targets: " + "  ".join(f"{k} {'PASS' if ok else 'FAIL'}" for k, ok in checks))


def plain_comparison(df: pl.DataFrame, labels: tuple[str, ...] = ("chair", "cabinet")) -> str:
    """Median center error of the fitter vs the plain box on the classes the issue names."""
    sel = scored(df).filter(pl.col("valid") & pl.col("label").is_in(labels))
    t = sel.group_by("label", "method").agg(pl.col("center_error").median().alias("c"))
    parts = []
    for label in labels:
        row = {r["method"]: r["c"] for r in t.filter(pl.col("label") == label).iter_rows(named=True)}
        if row:
            verdict = "ok" if row.get("fitter", np.inf) <= row.get("plain box", np.inf) else "LOSES"
            parts.append(f"{label} center median fitter {row.get('fitter', np.nan):.3f} vs plain {row.get('plain box', np.nan):.3f} m ({verdict})")
    return "; ".join(parts)


def report(title: str, images: list[dict], models: dict[str, NoiseModel], *, targets: bool, detail: bool) -> None:
    for name, noise in models.items():
        df = run_boxes(images, noise, METHODS)
        print_summary(name, summary(df), targets)
        print(f"{'':<22} {plain_comparison(df)}")
        if detail:
            with pl.Config(tbl_rows=60, tbl_cols=12, tbl_width_chars=160):
                print(by_class(df))
    print()


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


def run_throughput(images: list[dict], noise_name: str, repeats: int = 3) -> float:
    noise = NOISE_MODELS[noise_name]
    prepared = []
    for im in images:
        pm = noise(unproject(im["depth"], im["intrinsics"]), im)
        prepared.append((pm, object_masks(im), [o["label"] for o in im["objects"]], int(im["seed"])))
    n_obj = np.mean([len(m) for _, m, _, _ in prepared])
    best = np.inf
    for _ in range(repeats):
        t0 = time.perf_counter()
        for pm, masks, labels, seed in prepared:
            fit = floor_ransac(pm, seed=seed)
            b = fit_boxes(pm, masks, fit.gravity.rotation, floor_height=fit.gravity.floor_height, labels=labels)
            box_front_yaw(b["yaw"].to_numpy(), b["width"].to_numpy(), b["depth"].to_numpy(),
                          b["center_x"].to_numpy(), b["center_y"].to_numpy())
        best = min(best, time.perf_counter() - t0)
    h, w = prepared[0][0].shape
    rate = len(prepared) / best
    verdict = "PASS" if rate >= TARGETS["images_per_s"] else "FAIL"
    print(f"throughput ({noise_name}): {rate:.1f} images/s on one core ({1000 * best / len(prepared):.1f} ms/image; "
          f"{w}x{h}, {n_obj:.1f} objects/image; gravity + boxes + orientation) target {verdict}")
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=120, help="indoor scene-engine images (>= 100)")
    ap.add_argument("--seed", type=int, default=1000)
    ap.add_argument("--cache", type=Path, default=None, help="folder to cache renders in (.npz)")
    ap.add_argument("--held-out", action="store_true", help="also the held-out check: seeds 9000+, half outdoor, other noise strengths")
    ap.add_argument("--by-class", action="store_true", help="per-class tables")
    ap.add_argument("--boxes-only", action="store_true", help="skip gravity and throughput")
    args = ap.parse_args()
    t0 = time.perf_counter()
    images = scene_images(args.images, args.seed, args.cache)
    print(f"rendered/loaded {len(images)} indoor images in {time.perf_counter() - t0:.0f} s\n")
    report("boxes", images, NOISE_MODELS, targets=True, detail=args.by_class)
    report("scale error", images, SCALE_ERROR, targets=False, detail=False)
    if args.held_out:
        held = scene_images(args.images, HELD_OUT_SEED, args.cache, kinds=HELD_OUT_KINDS)
        print(f"held-out: {len(held)} images (seeds {HELD_OUT_SEED}+, half outdoor)")
        report("held-out", held, HELD_OUT_NOISE, targets=True, detail=args.by_class)
    if args.boxes_only:
        return
    run_gravity(images)
    for name in NOISE_MODELS:
        run_throughput(images[: min(40, len(images))], name)


if __name__ == "__main__":
    main()
