"""Scene-engine throughput: generate + render + write a drop (512x384 by default), images per second.

    .venv/bin/python benchmarks/bench_scenes.py [--images 40] [--threads 1] [--sensor-sidecars]

``--threads 1`` (the default, as in `render`) keeps open3d's ray casting on one core; numpy is
single-threaded here anyway. Pin the process (``taskset -c 0``) for a one-core figure.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=40)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--height", type=int, default=384)
    ap.add_argument("--threads", type=int, default=1, help="open3d ray-casting threads (0 = all cores)")
    ap.add_argument("--outdoor-share", type=float, default=0.25)
    ap.add_argument("--sensor-sidecars", action="store_true")
    args = ap.parse_args()

    from hispatial_assets.scenes import generate_scene, image_kind, image_seed, render, write_drop

    generate_scene(0), render(generate_scene(0), 64, 48)  # warm up imports and open3d
    stages = {"generate": 0.0, "render": 0.0}  # CPU seconds: robust to other load on the machine
    for i in range(min(args.images, 10)):  # where the time goes, without I/O
        t0 = time.process_time()
        scene = generate_scene(image_seed(1, i), image_kind(i, args.outdoor_share))
        t1 = time.process_time()
        render(scene, args.width, args.height, nthreads=args.threads)
        stages["generate"] += t1 - t0
        stages["render"] += time.process_time() - t1
    n_stage = min(args.images, 10)

    with tempfile.TemporaryDirectory() as tmp:
        t0, c0 = time.perf_counter(), time.process_time()
        write_drop(tmp, "bench", n_images=args.images, seed=1, outdoor_share=args.outdoor_share,
                   width=args.width, height=args.height, sensor_sidecars=args.sensor_sidecars,
                   nthreads=args.threads)
        elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        size = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(tmp) for f in fs)

    print(f"scene engine: {args.images} images {args.width}x{args.height}, open3d threads={args.threads}")
    print(f"  generate {1000 * stages['generate'] / n_stage:6.1f} ms CPU/image")
    print(f"  render   {1000 * stages['render'] / n_stage:6.1f} ms CPU/image")
    print(f"  end to end (generate + render + write): {args.images / elapsed:.2f} images/s wall, "
          f"{args.images / cpu:.2f} images/s per CPU-second, {size / args.images / 1024:.0f} KiB/image")


if __name__ == "__main__":
    main()
