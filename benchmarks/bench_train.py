"""Training throughput of the RGB-XYZ VLM: steps/s and peak memory.

CPU (default): the tiny default model at batch 8 on batches shaped like the QA (384x512 images, point
maps, ~40-token questions, short answers), through the real collator, loss, backward and AdamW step of
`model/train.py`. Target: >= 2 steps/s on the 2-core machine.

CUDA (``--device cuda``): a PaliGemma2-3B-sized model (SigLIP-So400m/14 + Gemma2-2B + the XYZ branch),
random init, 448x448 inputs (1024 image tokens), bf16 autocast over float32 masters, gradient
checkpointing, vision tower frozen, one GPU. Prints step time and peak GPU memory.

    .venv/bin/python benchmarks/bench_train.py [--steps 20] [--batch 8] [--threads 1] [--repeat 3]
    .venv/bin/python benchmarks/bench_train.py --device cuda [--batch 8] [--steps 10]
    .venv/bin/python benchmarks/bench_train.py --model paligemma2-3b --scale 0.05 --layers 2 --image-size 112 --batch 2
                                               # the same path shrunk, on CPU: checks it runs
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from hispatial_assets.model.config import HiSpatialConfig, paligemma2_config  # noqa: E402
from hispatial_assets.model.data import Collator  # noqa: E402
from hispatial_assets.model.loading import build_default  # noqa: E402
from hispatial_assets.model.processor import point_map_input  # noqa: E402
from hispatial_assets.model.train import TrainConfig, _optimizer, answer_loss, torch_threads, trainable_parameters  # noqa: E402
from hispatial_assets_tests.model.tiny import random_point_map  # noqa: E402

QUESTIONS = [
    "How far apart are the centers of the {a} and the {b}? (center to center, in 3D, gravity-aligned frame; "
    "answer in meters.)",
    "Give the (x, y, z) position in meters of the surface point seen at pixel [{i}, {j}], in the camera frame "
    "(x right, y down, z forward).",
    "Is the {a} to the left or to the right of the {b}, as seen from the camera?",
    "Which one is taller? (3D boxes in the gravity-aligned frame.)\nA. The {a}\nB. The {b}",
]
OBJECTS = ["chair", "lamp", "blue box", "table", "sofa", "leftmost chair", "plant", "cabinet"]


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n):
        a, b = rng.choice(OBJECTS, 2, replace=False)
        q = QUESTIONS[k % len(QUESTIONS)].format(a=a, b=b, i=rng.integers(1000), j=rng.integers(1000))
        answer = [f"{rng.uniform(0.1, 5):.2f} m", f"({rng.normal():.2f}, {rng.normal():.2f}, {rng.uniform(1, 6):.2f}) m",
                  "To the left.", "B. The lamp"][k % 4]
        rows.append({"question": q, "answer": answer})
    return rows


def cpu_benchmark(args) -> None:
    rows = synthetic_rows(512)
    torch.manual_seed(0)
    model, processor = build_default([r["question"] for r in rows] + [r["answer"] for r in rows], "rgb_xyz")
    size = model.config.vision_config.image_size
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 255, (384, 512, 3), dtype=np.uint8) for _ in range(16)]
    points = [point_map_input(random_point_map(i, 384, 512), "rgb_xyz", size) for i in range(16)]
    examples = [{"image": images[i % 16], "question": r["question"], "answer": r["answer"], "point_input": points[i % 16]}
                for i, r in enumerate(rows)]
    collate = Collator(processor)
    params = trainable_parameters(model, "rgb_xyz")
    optimizer = _optimizer(params, TrainConfig(rows_uri="", out_dir=""))
    n_params = sum(p.numel() for p in model.parameters())
    print(f"tiny default model: {n_params / 1e6:.2f} M parameters ({sum(p.numel() for _, p in params) / 1e6:.2f} M trained), "
          f"{size}px input, {model.config.text_config.num_image_tokens} image tokens, batch {args.batch}, "
          f"{args.threads} thread(s)")

    def step(k: int) -> tuple[float, float]:
        t = time.perf_counter()
        batch = collate([examples[(k * args.batch + i) % len(examples)] for i in range(args.batch)])
        t_data = time.perf_counter() - t
        answer_loss(model, batch).backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return t_data, time.perf_counter() - t

    best = None
    with torch_threads(args.threads):
        for _ in range(args.repeat):
            step(0)
            c0, t0 = time.process_time(), time.perf_counter()
            data = sum(step(k)[0] for k in range(args.steps))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            run = (args.steps / wall, wall / args.steps, data / args.steps, cpu / args.steps)
            best = run if best is None or run[0] > best[0] else best
    rate, per, data, cpu = best
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"CPU training: {rate:.2f} steps/s ({per * 1000:.0f} ms/step, of which {data * 1000:.0f} ms collating; "
          f"{cpu * 1000:.0f} ms CPU time/step) — best of {args.repeat}; target >= 2 steps/s")
    print(f"peak memory (process RSS): {peak_mb:.0f} MB")


def paligemma2_benchmark(args) -> None:
    if args.device == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: no CUDA device here")
    from hispatial_assets.model.modeling import HiSpatialForConditionalGeneration

    device = torch.device(args.device)
    size = args.image_size
    config = HiSpatialConfig(**paligemma2_config(image_size=size, scale=args.scale, layers=args.layers))
    with device:
        torch.manual_seed(0)
        model = HiSpatialForConditionalGeneration(config)
    model.train()
    model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    params = trainable_parameters(model, "rgb_xyz")
    optimizer = _optimizer(params, TrainConfig(rows_uri="", out_dir="", lr=2e-5))
    n_img, n_text, n_answer = config.text_config.num_image_tokens, 48, 16
    g = torch.Generator(device="cpu").manual_seed(0)
    ids = torch.randint(10, 256000, (args.batch, 1 + n_text + n_answer), generator=g)
    input_ids = torch.cat([torch.full((args.batch, n_img), config.image_token_index), ids], dim=1)
    labels = torch.full_like(input_ids, -100)
    labels[:, -n_answer:] = input_ids[:, -n_answer:]
    token_type_ids = torch.zeros_like(input_ids)
    token_type_ids[:, -n_answer:] = 1
    pm = torch.from_numpy(np.stack([point_map_input(random_point_map(i, size, size), "rgb_xyz", size)
                                    for i in range(args.batch)]))
    batch = {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "token_type_ids": token_type_ids,
             "labels": labels, "pixel_values": torch.randn(args.batch, 3, size, size, generator=g), "point_maps": pm}
    batch = {k: v.to(device) for k, v in batch.items()}
    n_params = sum(p.numel() for p in model.parameters())
    where = torch.cuda.get_device_name(0) if device.type == "cuda" else "CPU (a smoke test of this path)"
    print(f"PaliGemma2-3B-shaped RGB-XYZ model (width x{args.scale}): {n_params / 1e9:.3f} B parameters "
          f"({sum(p.numel() for _, p in params) / 1e9:.3f} B trained), {size}px ({n_img} image tokens), "
          f"batch {args.batch}, bf16 autocast, gradient checkpointing; {where}")
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16):
            loss = answer_loss(model, batch)
        loss.backward()
        torch.nn.utils.clip_grad_norm_([p for _, p in params], 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()
    step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    per = (time.perf_counter() - t) / args.steps
    memory = (f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.1f} GiB" if device.type == "cuda" else
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    print(f"{device.type.upper()} training: {per:.3f} s/step ({args.batch / per:.1f} samples/s); {memory}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--steps", type=int, default=None, help="timed steps (default: 20 on CPU, 10 on CUDA)")
    p.add_argument("--threads", type=int, default=1, help="CPU intra-op threads (TrainConfig.cpu_threads)")
    p.add_argument("--repeat", type=int, default=3, help="CPU: repeat and report the best (a shared machine is noisy)")
    p.add_argument("--model", choices=["tiny", "paligemma2-3b"], default=None,
                   help="default: tiny on CPU, paligemma2-3b on CUDA")
    p.add_argument("--image-size", type=int, default=448, help="paligemma2-3b: input size")
    p.add_argument("--scale", type=float, default=1.0, help="paligemma2-3b: width factor (< 1 for a smoke test)")
    p.add_argument("--layers", type=int, default=None, help="paligemma2-3b: layers (default: the real 27 / 26)")
    args = p.parse_args()
    args.model = args.model or ("tiny" if args.device == "cpu" else "paligemma2-3b")
    args.steps = args.steps or (20 if args.model == "tiny" else 10)
    cpu_benchmark(args) if args.model == "tiny" else paligemma2_benchmark(args)


if __name__ == "__main__":
    main()
