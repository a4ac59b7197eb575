"""Incremental refresh after a detector change vs a full recompute, on the same drops.

Target: the refresh costs at most 1.1x the downstream assets alone (objects, referrals, qa_l1..l3),
i.e. staleness bookkeeping is cheap and nothing upstream (point maps, gravity, qa_l0) reruns.

    .venv/bin/python benchmarks/bench_refresh.py [--drops 3] [--images 8]
"""

import argparse
import tempfile
import time

import dagster as dg
import numpy as np

from hispatial_assets.cli import orchestrate
from hispatial_assets.catalog.duckdb import query
from hispatial_assets.perception.synthetic import SyntheticDetector
from hispatial_assets.scenes import write_drop
from hispatial_assets.storage.layout import DataRoot

DOWNSTREAM = ["objects", "referrals", "qa_l1", "qa_l2", "qa_l3"]


def new_detector_version() -> None:
    detect = SyntheticDetector.detect

    def detect_v2(self, image):
        det = detect(self, image)
        det.scores = np.full(len(det), 0.8, np.float32)
        return det

    SyntheticDetector.version = "bench-2"
    SyntheticDetector.detect = detect_v2


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--drops", type=int, default=3)
    ap.add_argument("--images", type=int, default=8)
    args = ap.parse_args()
    quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
    silent = lambda *_: None  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp, dg.instance_for_test(temp_dir=tmp) as instance:
        root = DataRoot.resolve(f"{tmp}/root")
        drops = [f"bench_{i}" for i in range(args.drops)]
        for i, d in enumerate(drops):
            write_drop(root.root, d, n_images=args.images, seed=i)
        orchestrate.register_drops(instance, drops)
        defs = orchestrate.load_definitions(root)
        t = time.perf_counter()
        orchestrate.refresh(defs, instance, root, log=silent)
        full = time.perf_counter() - t

        new_detector_version()
        defs = orchestrate.load_definitions(root)
        before = query(root, "select count(*) as n from lineage")["n"][0]
        t = time.perf_counter()
        orchestrate.refresh(defs, instance, root, log=silent)
        incremental = time.perf_counter() - t
        rerun = query(root, "select asset, count(*) as n from lineage group by asset order by asset")

        job = defs.resolve_job_def("drop_pipeline")
        t = time.perf_counter()
        for d in drops:
            job.execute_in_process(partition_key=d, instance=instance, run_config=quiet,
                                   asset_selection=[dg.AssetKey(a) for a in DOWNSTREAM])
        downstream = time.perf_counter() - t
        print(f"{args.drops} drops x {args.images} images")
        print(f"full recompute (all assets):       {full:6.2f} s")
        print(f"downstream assets alone:           {downstream:6.2f} s  ({', '.join(DOWNSTREAM)})")
        print(f"incremental refresh after change:  {incremental:6.2f} s  = {incremental / downstream:.2f} x downstream "
              f"(target <= 1.1), {incremental / full:.2f} x full")
        print(f"lineage records added by the refresh: {query(root, 'select count(*) as n from lineage')['n'][0] - before - len(drops) * len(DOWNSTREAM)}"
              f" (per asset, all runs: {dict(rerun.iter_rows())})")


if __name__ == "__main__":
    main()
