"""Template referrals over a test corpus: strategy mix, fallback share, expression length, referrals/s.

    python benchmarks/bench_referrals.py [--images 500] [--scenes 40]

``--images``: seeded indoor-like layouts (the referral tests' generator); ``--scenes``: scene-engine
images, indoor and outdoor alternating, rendered at 320x240, ground-truth objects (skipped when the
scene engine is not available). Timings cover referral only, not rendering.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hispatial_assets.perception.referral.metrics import referral_metrics  # noqa: E402
from hispatial_assets.perception.referral.template import refer_objects  # noqa: E402
from hispatial_assets_tests.referrals.layouts import HEIGHT, WIDTH, layout_corpus  # noqa: E402


def bench(name: str, images: list[tuple[pl.DataFrame, int, int]], repeats: int = 3) -> dict:
    n = sum(len(f) for f, _, _ in images)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        referrals = [refer_objects(f, w, h) for f, w, h in images]
        best = min(best, time.perf_counter() - start)
    metrics = referral_metrics(pl.concat(referrals))
    metrics |= {"corpus": name, "images": len(images), "referrals_per_s": round(n / best, 1),
                "seconds": round(best, 3)}
    return metrics


def scene_engine_images(n: int) -> list[tuple[pl.DataFrame, int, int]]:
    from hispatial_assets_tests.referrals.scene_corpus import rendered_corpus

    return rendered_corpus(n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=500)
    parser.add_argument("--scenes", type=int, default=40)
    args = parser.parse_args()
    results = [bench("layouts", [(f, WIDTH, HEIGHT) for f in layout_corpus(args.images, seed=1)])]
    if args.scenes:
        try:
            results.append(bench("scene_engine", scene_engine_images(args.scenes), repeats=1))
        except ImportError as err:
            print(f"scene engine corpus skipped: {err}", file=sys.stderr)
    for r in results:
        print(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
