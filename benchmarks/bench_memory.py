"""Peak memory of each stage of the drop pipeline, at two drop sizes (issue 14).

Every stage must stream per image or per batch: its memory may grow with what it writes (the drop's
output table, in compact columnar form) but not with the drop's images or point maps. Each stage
runs in a process of its own (the asset and its checks, through Dagster, as a run would), which
reports its peak resident memory and the resident memory it had before the stage started (Python,
torch, Dagster and the definitions loaded). Two drops, ``--small`` and ``--images`` images (the
largest drop the README recommends is 4,096), show what grows with the drop.

    .venv/bin/python benchmarks/bench_memory.py [--images 4096] [--small 512] [--width 256 --height 192]

With ``BENCH_MEMORY_NO_CHECKS=1`` each stage runs without its asset checks (the asset's own peak).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

STAGES = ["drop_manifest", "point_maps", "gravity", "objects", "referrals", "qa_l0", "qa_l1", "qa_l2", "qa_l3"]


def status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident since the last reset) of this process."""
    with open("/proc/self/status") as f:
        kb = next(int(line.split()[1]) for line in f if line.startswith(f"{field}:"))
    return kb / 1024


def reset_peak() -> None:
    """Start the peak over from the current resident set (Linux >= 4.0): imports are not the stage's."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def child(stage: str, root_uri: str, instance_ref: str, drop_id: str) -> None:
    """Run one stage (with its checks) for the drop; print its memory figures as JSON."""
    import dagster as dg
    from dagster._serdes import deserialize_value

    from hispatial_assets.cli import orchestrate
    from hispatial_assets.storage.layout import DataRoot

    root = DataRoot.resolve(root_uri)
    defs = orchestrate.load_definitions(root)
    with dg.DagsterInstance.from_ref(deserialize_value(instance_ref)) as instance:
        job, selection = defs.resolve_job_def("drop_pipeline"), [dg.AssetKey(stage)]
        if os.environ.get("BENCH_MEMORY_NO_CHECKS") == "1":  # the asset alone, its checks left out
            job, selection = job.get_subset(asset_selection=set(selection), asset_check_selection=set()), None
        reset_peak()
        before = status_mb("VmRSS")
        t = time.perf_counter()
        result = orchestrate.execute(job, instance, partition_key=drop_id, asset_selection=selection)
        seconds = time.perf_counter() - t
    peak = status_mb("VmHWM")
    print(json.dumps({"stage": stage, "ok": result.success, "before_mb": before, "peak_mb": peak, "seconds": seconds}))


def measure(n_images: int, width: int, height: int) -> dict[str, dict]:
    import dagster as dg
    from dagster._serdes import serialize_value

    from hispatial_assets.cli import orchestrate
    from hispatial_assets.scenes import write_drop
    from hispatial_assets.storage.layout import DataRoot

    with tempfile.TemporaryDirectory(prefix="hispatial-bench-") as tmp, dg.instance_for_test(temp_dir=tmp) as instance:
        root = DataRoot.resolve(os.path.join(tmp, "root"))
        t = time.perf_counter()
        write_drop(root.root, "mem", n_images=n_images, seed=1, width=width, height=height)
        print(f"  rendered {n_images} images of {width}x{height} in {time.perf_counter() - t:.0f} s", flush=True)
        orchestrate.register_drops(instance, ["mem"])
        ref = serialize_value(instance.get_ref())
        figures = {}
        for stage in STAGES:
            out = subprocess.run([sys.executable, __file__, "--child", stage, root.root, ref, "mem"],
                                 capture_output=True, text=True, check=True)
            figures[stage] = json.loads(out.stdout.strip().splitlines()[-1])
            f = figures[stage]
            print(f"  {stage:14s} peak {f['peak_mb']:7.0f} MB  (before the stage {f['before_mb']:5.0f} MB)  "
                  f"{f['seconds']:6.1f} s{'' if f['ok'] else '  FAILED'}", flush=True)
        return figures


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        child(*sys.argv[2:6])
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=4096)
    ap.add_argument("--small", type=int, default=512)
    ap.add_argument("--width", type=int, default=256)
    ap.add_argument("--height", type=int, default=192)
    args = ap.parse_args()
    results = {}
    for n in (args.small, args.images):
        print(f"drop of {n} images:", flush=True)
        results[n] = measure(n, args.width, args.height)
    small, large = results[args.small], results[args.images]
    print(f"\ngrowth of each stage's peak from {args.small} to {args.images} images (MB per 1,000 images):")
    for stage in STAGES:
        growth = (large[stage]["peak_mb"] - small[stage]["peak_mb"]) / (args.images - args.small) * 1000
        print(f"  {stage:14s} {growth:6.1f}")


if __name__ == "__main__":
    main()
