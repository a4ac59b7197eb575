"""Dagster's overhead per drop partition against the stage work, at 1,000 images per drop (issue 14).

Target: under 5%. One drop of ``--images`` scene-engine images runs through the drop pipeline twice,
each on a fresh instance: in process (the CLI's `execute_in_process`) and with the multiprocess
executor (a process per step; by run config, and for the dask / k8s executors the same shape). Stage work is what the stages
themselves spend: each asset's lineage record (its library call and writes, started to finished)
plus each check step (reading QA back is work of ours too). Overhead is the rest of the run's wall
time: run and step start-up, event storage, resource setup, step processes. Also printed: the stage
work per image of each asset, which benchmarks/README.md uses for the 5M-image projection, and the
bytes each table takes per image.

    .venv/bin/python benchmarks/bench_overhead.py [--images 1000] [--width 512 --height 384]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import dagster as dg

from hispatial_assets.cli import orchestrate
from hispatial_assets.catalog.duckdb import query
from hispatial_assets.definitions import DROP_JOB, build_definitions
from hispatial_assets.scenes import write_drop
from hispatial_assets.storage.layout import DataRoot

DROP = "overhead"


def drop_job():
    return build_definitions(root=os.environ["HISPATIAL_ROOT"]).resolve_job_def(DROP_JOB)


def step_seconds(records) -> dict[str, float]:
    """STEP_START to STEP_SUCCESS of every step, from the run's event log."""
    start, seconds = {}, {}
    for record in records:
        event = record.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            start[event.step_key] = record.timestamp
        elif event.event_type == dg.DagsterEventType.STEP_SUCCESS:
            seconds[event.step_key] = record.timestamp - start[event.step_key]
    return seconds


def measure(root: DataRoot, home: str, executor: str) -> dict:
    with dg.instance_for_test(temp_dir=home) as instance:
        orchestrate.register_drops(instance, [DROP])
        t = time.perf_counter()
        if executor == "in_process":
            result = orchestrate.materialize_drop(orchestrate.load_definitions(root), instance, DROP)
            wall = time.perf_counter() - t
            records = instance.all_logs(result.run_id)
        else:
            with dg.execute_job(dg.reconstructable(drop_job), instance=instance, tags={"dagster/partition": DROP},
                                run_config={"execution": {"config": {"multiprocess": {"max_concurrent": 2}}},
                                            "loggers": {"console": {"config": {"log_level": "WARNING"}}}}) as result:
                wall = time.perf_counter() - t
                records = instance.all_logs(result.run_id)
        assert result.success
        run_id = result.run_id
    steps = step_seconds(records)
    lineage = query(root, f"""SELECT asset, epoch(finished_at) - epoch(started_at) AS seconds, rows
                              FROM lineage WHERE run_id = '{run_id}'""")
    assets = {a: s for a, s, _ in lineage.iter_rows()}
    checks = {k: s for k, s in steps.items() if k not in assets}
    work = sum(assets.values()) + sum(checks.values())
    return {"wall": wall, "work": work, "assets": assets, "checks": checks,
            "inside_asset_steps": sum(steps[a] - s for a, s in assets.items() if a in steps)}


def table_bytes(root: DataRoot) -> dict[str, int]:
    sizes: dict[str, int] = defaultdict(int)
    for top in ("tables", "arrays"):
        for path in Path(root.root, top).rglob("*"):
            if path.is_file() and path.name != "_schema.parquet":
                sizes[path.relative_to(root.root).parts[1]] += path.stat().st_size
    return dict(sizes)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=1000)
    ap.add_argument("--width", type=int, default=512)
    ap.add_argument("--height", type=int, default=384)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="hispatial-bench-") as tmp:
        root = DataRoot.resolve(os.path.join(tmp, "root"))
        os.environ["HISPATIAL_ROOT"] = root.root
        t = time.perf_counter()
        write_drop(root.root, DROP, n_images=args.images, seed=11, width=args.width, height=args.height)
        print(f"rendered {args.images} images of {args.width}x{args.height} in {time.perf_counter() - t:.0f} s", flush=True)
        for executor in ("in_process", "multiprocess"):
            home = os.path.join(tmp, f"home_{executor}")
            os.makedirs(home)
            m = measure(root, home, executor)
            overhead = m["wall"] - m["work"]
            print(f"{executor}: run {m['wall']:.1f} s, stage work {m['work']:.1f} s "
                  f"(assets {sum(m['assets'].values()):.1f} s, checks {sum(m['checks'].values()):.1f} s), "
                  f"Dagster overhead {overhead:.1f} s = {100 * overhead / m['work']:.1f}% of the work "
                  f"({m['inside_asset_steps']:.1f} s of it inside asset steps)", flush=True)
            if executor == "in_process":
                per_image = {a: s / args.images for a, s in m["assets"].items()}
                print("  stage work per image (s): " + ", ".join(f"{a} {s:.4f}" for a, s in sorted(per_image.items())))
                print("  checks per image (s): " + ", ".join(f"{c} {s / args.images:.4f}" for c, s in sorted(m["checks"].items())))
        sizes = table_bytes(root)
        print("bytes per image: " + ", ".join(f"{t} {b / args.images:,.0f}" for t, b in sorted(sizes.items())))
        drop_bytes = sum(f.stat().st_size for f in Path(root.drop_uri(DROP)).rglob("*") if f.is_file())
        print(f"input drop: {drop_bytes / args.images:,.0f} bytes per image (PNG + scene-engine truth sidecars)")


if __name__ == "__main__":
    main()
