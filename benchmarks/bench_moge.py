"""Native MoGe-2 throughput: images/s of the published ViT-S and ViT-L networks (random weights) at
512x384, on the CPU in float32 and, where CUDA is present, on the GPU in half precision (autocast).

Timed is what the ``moge`` point-map backend does per batch: the network at the token budget of the
resolution level (9 = 3600 tokens, MoGe's default), the focal / shift fit and the lift to point maps.

    python benchmarks/bench_moge.py [--levels 9] [--repeat 2] [--gpu-batch 4]
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from hispatial_assets.perception import moge2  # noqa: E402

MODELS = {"ViT-S": "moge-2-vits-normal", "ViT-L": "moge-2-vitl-normal"}


def images_per_second(net: moge2.MoGe2Net, batch: int, level: int, repeat: int, device: str) -> float:
    images = torch.rand(batch, 3, 384, 512, generator=torch.Generator().manual_seed(0)).to(device)
    moge2.infer(net, images, resolution_level=level)  # warm-up (allocations, kernels)
    if device == "cuda":
        torch.cuda.synchronize()
    start = time.perf_counter()
    for _ in range(repeat):
        moge2.infer(net, images, resolution_level=level)
    if device == "cuda":
        torch.cuda.synchronize()
    return batch * repeat / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[9], help="resolution levels 0..9")
    parser.add_argument("--repeat", type=int, default=2, help="timed batches per figure")
    parser.add_argument("--gpu-batch", type=int, default=4)
    args = parser.parse_args()
    gpu = torch.cuda.is_available()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads; GPU: "
          + (torch.cuda.get_device_name(0) if gpu else "none (GPU figures not measured)"))
    for label, name in MODELS.items():
        torch.manual_seed(0)
        net = moge2.build(moge2.PUBLISHED[name]).eval()
        params = sum(p.numel() for p in net.parameters()) / 1e6
        for level in args.levels:
            tokens = net.num_tokens(level)
            cpu = images_per_second(net, 1, level, args.repeat, "cpu")
            print(f"{label} ({name}, {params:.0f}M) 512x384, {tokens} tokens: CPU float32 {cpu:.3f} images/s", flush=True)
            if gpu:
                net_gpu = net.to("cuda")
                fast = images_per_second(net_gpu, args.gpu_batch, level, args.repeat * 5, "cuda")
                print(f"{label} ({name}) 512x384, {tokens} tokens: GPU fp16 autocast, batch {args.gpu_batch}: "
                      f"{fast:.2f} images/s", flush=True)
                net = net_gpu.to("cpu")


if __name__ == "__main__":
    main()
