"""Scene-engine images/s, point-map write throughput (encode + atomic write) and bytes per pixel.

    .venv/bin/python benchmarks/bench_point_maps.py [--images 24]
"""

import argparse
import os
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from hispatial_assets.perception.noise import degrade_point_map  # noqa: E402
from hispatial_assets.scenes import generate_scene, render  # noqa: E402
from hispatial_assets.geometry.camera import unproject  # noqa: E402
from hispatial_assets.storage.point_maps import load_point_map, write_point_map  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=24)
    args = ap.parse_args()
    maps = []
    t0 = time.perf_counter()
    for i in range(args.images):
        r = render(generate_scene(i, "outdoor" if i % 4 == 3 else "indoor"))
        maps.append(unproject(r.depth, r.intrinsics))
    dt = time.perf_counter() - t0
    print(f"scene engine (generate + render 512x384, one thread): {args.images / dt:.1f} images/s")
    noisy = [degrade_point_map(pm, seed=i) for i, pm in enumerate(maps)]
    with tempfile.TemporaryDirectory() as tmp:
        for name, batch in [("ground truth (pinhole: shaved float32 depth)", maps), ("noisy estimate (pinhole)", noisy)]:
            t0, total, pixels = time.perf_counter(), 0, 0
            for i, pm in enumerate(batch):
                total += len(write_point_map(os.path.join(tmp, f"{name[:5]}{i}.npz"), pm))
                pixels += pm.mask.size
            dt = time.perf_counter() - t0
            t1 = time.perf_counter()
            for i in range(len(batch)):
                load_point_map(os.path.join(tmp, f"{name[:5]}{i}.npz"))
            dl = time.perf_counter() - t1
            print(f"{name}: write {len(batch) / dt:.1f} maps/s ({pixels / dt / 1e6:.1f} Mpx/s), "
                  f"read {len(batch) / dl:.1f} maps/s, {total / pixels:.3f} bytes/pixel "
                  f"(float32 xyz would be 12, + mask)")
        err = max(float(np.max(np.abs(load_point_map(os.path.join(tmp, f"groun{i}.npz")).xyz - pm.xyz)
                               [pm.mask].max(initial=0) / np.maximum(pm.xyz[..., 2][pm.mask].max(initial=1), 1e-6)))
                  for i, pm in enumerate(maps))
        print(f"max round-trip error relative to max depth: {err:.2e}")


if __name__ == "__main__":
    main()
