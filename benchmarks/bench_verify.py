"""QA reader throughput (qa/reader.py): rows read back and checked per second per core, against the
geometry the rows came from (exact) and against other geometry (truth mode), at ~400 QA per image.

Excludes image I/O and synthesis: the QA frame is generated first, in memory. Pins BLAS and polars to
one thread. No target yet; for scale, QA synthesis runs at ~100k rows/s/core (bench_qa.py) and the
blocking checks read every row once (measured on a shared machine: ~24k rows/s/core).

    .venv/bin/python benchmarks/bench_verify.py [--images 100] [--objects 9] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "POLARS_MAX_THREADS"):
    os.environ[var] = "1"

import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import polars as pl  # noqa: E402

from hispatial_assets.qa import QAConfig, generate_all  # noqa: E402
from hispatial_assets.qa.reader import Judge, Names, Scene, read_rows  # noqa: E402
from hispatial_assets_tests.qa.scenes import image_inputs  # noqa: E402


def read_all(qa: pl.DataFrame, images, judge: Judge) -> pl.DataFrame:
    by_image = {k[0]: g for k, g in qa.group_by("image_id")}
    return pl.concat([read_rows(by_image[img.image_id], Names(img.objects, img.referrals, img.width, img.height),
                                Scene(img.objects, img.point_map, img.width, img.height), judge) for img in images])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--objects", type=int, default=9)
    ap.add_argument("--units", default="metric")
    ap.add_argument("--repeat", type=int, default=1, help="runs; the best of each figure is reported")
    args = ap.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    images = [image_inputs(s, n=args.objects) for s in range(args.images)]
    cfg = QAConfig(units=args.units)
    qa = generate_all(images, cfg)
    print(f"images={len(images)} objects/image={args.objects} rows={len(qa)}")
    for name, judge in (("exact", Judge(cfg)), ("truth", Judge(cfg, exact=False))):
        best = float("inf")
        for _ in range(max(1, args.repeat)):
            t = time.process_time()
            verdicts = read_all(qa, images, judge)
            best = min(best, time.process_time() - t)
        assert verdicts["read"].all()
        print(f"  {name}: {len(qa) / best:,.0f} rows/s/core, {verdicts['holds'].mean():.1%} hold")


if __name__ == "__main__":
    main()
