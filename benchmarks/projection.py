"""The 5M-image projection of benchmarks/README.md: core-hours per stage, GPU-hours of the model stages,
storage per table, partitions, and the cluster that finishes in a week.

Its inputs are figures, not guesses hidden in code: the per-image CPU seconds and bytes of each
stage come from ``bench_overhead.py`` (defaults: the run recorded in benchmarks/README.md, on the
loaded 2-core machine, scene-engine images of 512x384); the GPU rates of the real model stages are
FLOP estimates (``GPU_MODELS``), to be replaced by ``bench_moge.py`` / ``bench_train.py`` measured on
a GPU. Override any of them on the command line.

    .venv/bin/python benchmarks/projection.py [--images 5e6] [--images-per-drop 1000] [--days 7]
"""

from __future__ import annotations

import argparse
import math

# CPU seconds per image of each stage (bench_overhead.py --images 256, in process, on the loaded
# 2-core machine; benchmarks/README.md). "checks" is every asset check of the drop job together.
CPU_S_PER_IMAGE = {
    "drop_manifest": 0.0120,
    "point_maps": 0.1272,
    "gravity": 0.0496,
    "objects": 0.1397,
    "referrals": 0.0025,
    "qa_l0": 0.0190,
    "qa_l1": 0.0010,
    "qa_l2": 0.0032,
    "qa_l3": 0.0036,
    "checks": 0.0906,
}
# Bytes per image of each table / array folder (same run; zstd Parquet, point maps as written).
BYTES_PER_IMAGE = {
    "drops (input)": 660_837,
    "point_maps": 348_587,
    "qa": 14_854,
    "gt_objects": 1_432,
    "objects": 1_388,
    "gravity": 99,
    "qa_summary": 72,
    "images": 49,
    "referrals": 31,
    "rejected": 9,
}
# The real model stages, as FLOP estimates per image (forward pass, fp16/bf16) and the stage they
# replace. Effective throughput: ``--gpu-tflops`` (default 100 TFLOP/s: an H100-class GPU at about a
# third of its dense fp16 peak on these batch sizes).
GPU_MODELS = {
    # ViT-L/14 at MoGe-2's 3600 tokens: 2 x 304M params x 3600 tokens + attention (24 layers x 4 x 3600^2 x 1024)
    "MoGe-2 ViT-L (point_maps)": 2 * 304e6 * 3600 + 24 * 4 * 3600**2 * 1024,
    # GroundingDINO-T (~0.9 TFLOP at 800x1333 incl. the BERT text branch) + SAM ViT-H image encoder
    # (~3 TFLOP at 1024x1024; the mask decoder per box is negligible)
    "GroundingDINO-T + SAM ViT-H (objects: detection)": 0.9e12 + 3.0e12,
    # Orient Anything (DINOv2-L at 518^2: 2 x 304M x 1369 tokens) once per object crop, ~10 objects
    "Orient Anything ViT-L x 10 objects (objects: orientation)": 10 * 2 * 304e6 * 1369,
    # SigLIP-So400m image tags (2 x 400M x 729 tokens)
    "SigLIP tagger (objects: tags)": 2 * 400e6 * 729,
}
# Training: a PaliGemma2-3B-sized model (README's example config: batch 8 x grad_accum 32 x 70k
# steps = 17.9M samples of ~1,100 tokens), 6 FLOP per parameter and token for the trained 2.6B,
# 2 for the frozen 0.4B vision tower, x4/3 for gradient checkpointing.
TRAIN_SAMPLES = 8 * 32 * 70_000
TRAIN_TOKENS_PER_SAMPLE = 1_100
TRAIN_FLOP = TRAIN_SAMPLES * TRAIN_TOKENS_PER_SAMPLE * (6 * 2.6e9 * 4 / 3 + 2 * 0.4e9)


def parse(pairs: str | None, defaults: dict) -> dict:
    out = dict(defaults)
    for pair in (pairs or "").split(","):
        if pair.strip():
            key, value = pair.split("=")
            out[key.strip()] = float(value)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=float, default=5e6)
    ap.add_argument("--images-per-drop", type=int, default=1000)
    ap.add_argument("--qa-rows-per-image", type=float, default=365, help="bench_qa_stats.py template: 5839 / 16")
    ap.add_argument("--days", type=float, default=7)
    ap.add_argument("--cpu", help="stage=seconds per image,... (override)")
    ap.add_argument("--bytes", help="table=bytes per image,... (override)")
    ap.add_argument("--gpu-tflops", type=float, default=100.0, help="effective inference TFLOP/s per GPU")
    ap.add_argument("--train-tflops", type=float, default=300.0, help="effective training TFLOP/s per GPU")
    ap.add_argument("--recipes", type=int, default=7, help="training runs (the paper's ablations)")
    args = ap.parse_args()
    cpu, size = parse(args.cpu, CPU_S_PER_IMAGE), parse(args.bytes, BYTES_PER_IMAGE)
    n, hours = args.images, args.days * 24
    drops = math.ceil(n / args.images_per_drop)
    print(f"{n:,.0f} images in {drops:,} drops of {args.images_per_drop} "
          f"({drops:,} partitions per asset, {drops * 9:,} drop-asset partitions); "
          f"{n * args.qa_rows_per_image / 1e9:.2f}B QA rows\n")

    print("CPU stages (measured per image on the scene engine's 512x384 images):")
    core_hours = {stage: s * n / 3600 for stage, s in cpu.items()}
    for stage, ch in core_hours.items():
        print(f"  {stage:14s} {cpu[stage]:.4f} s/image  {ch:10,.0f} core-hours")
    total_cpu = sum(core_hours.values())
    print(f"  {'total':14s} {sum(cpu.values()):.4f} s/image  {total_cpu:10,.0f} core-hours\n")

    print(f"GPU stages of a real pipeline (FLOP estimates at {args.gpu_tflops:.0f} effective TFLOP/s; not measured here):")
    gpu_hours = {}
    for model, flop in GPU_MODELS.items():
        gpu_hours[model] = flop * n / (args.gpu_tflops * 1e12) / 3600
        print(f"  {model:58s} {flop / 1e12:5.2f} TFLOP/image  {gpu_hours[model]:8,.0f} GPU-hours")
    inference = sum(gpu_hours.values())
    training = args.recipes * TRAIN_FLOP / (args.train_tflops * 1e12) / 3600
    print(f"  {'inference total':58s} {'':17s} {inference:8,.0f} GPU-hours")
    print(f"  training: {args.recipes} recipes x {TRAIN_SAMPLES / 1e6:.1f}M samples x {TRAIN_TOKENS_PER_SAMPLE} tokens "
          f"({TRAIN_FLOP / 1e18:.0f} EFLOP each) at {args.train_tflops:.0f} TFLOP/s: {training:,.0f} GPU-hours\n")

    print("storage:")
    for table, b in size.items():
        print(f"  {table:18s} {b:12,.0f} bytes/image  {b * n / 1e12:8.2f} TB")
    print(f"  {'total':18s} {sum(size.values()):12,.0f} bytes/image  {sum(size.values()) * n / 1e12:8.2f} TB\n")

    cores = math.ceil(total_cpu / hours)
    gpus = math.ceil((inference + training) / hours)
    print(f"in {args.days:g} days: {cores} CPU cores busy all the time for the CPU stages "
          f"({math.ceil(cores / 32)} nodes of 32 cores at 100%), {gpus} GPUs for inference and training "
          f"({math.ceil(inference / hours)} for inference, {math.ceil(training / hours)} for training)")


if __name__ == "__main__":
    main()
