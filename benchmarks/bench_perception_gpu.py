"""Real-model backends on CUDA vs CPU, with tiny random-init models (no weights exist here).

Checks the device paths (inputs moved to the GPU, outputs back to numpy in image coordinates) and
that CUDA and CPU agree; prints per-image latency. Run it where a GPU is present:

    python benchmarks/bench_perception_gpu.py
"""

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import polars as pl  # noqa: E402
import torch  # noqa: E402

from hispatial_assets.perception.depth_models import DepthAnythingPointMaps  # noqa: E402
from hispatial_assets.perception.grounded_sam import GroundedSamDetector  # noqa: E402
from hispatial_assets.perception.grounding import GroundingDinoGrounder  # noqa: E402
from hispatial_assets.perception.referral.vlm import VlmReferrer  # noqa: E402
from hispatial_assets_tests.perception import tiny_models  # noqa: E402


def timed(fn, repeat: int = 3):
    fn()  # warm-up (CUDA context, kernels)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    t = time.perf_counter()
    for _ in range(repeat):
        out = fn()
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    return out, (time.perf_counter() - t) / repeat


def main() -> None:
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}; devices: {devices}"
          + (f" ({torch.cuda.get_device_name(0)})" if "cuda" in devices else ""))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        image = tiny_models.write_image(tmp, tiny_models.random_rgb(512, 384), "img0")
        gdino = tiny_models.save_grounding_dino(tmp / "gdino")
        sam = tiny_models.save_sam(tmp / "sam")
        depth = tiny_models.save_depth_anything(tmp / "depth")
        vlm = tiny_models.save_vlm(tmp / "vlm")
        results = {}
        for device in devices:
            det = GroundedSamDetector(gdino, sam, vocabulary=["chair", "table", "lamp"], box_threshold=0.0,
                                      text_threshold=0.0, device=device)
            dets, t_det = timed(lambda: det.detect(image))
            pm_backend = DepthAnythingPointMaps(depth, fov_deg=60.0, device=device)
            pm, t_pm = timed(lambda: pm_backend.estimate(image))
            objects = pl.DataFrame({"drop_id": ["tiny"] * 2, "image_id": ["img0"] * 2, "object_id": [1, 2],
                                    "label": ["chair", "table"], "color": ["red", "blue"],
                                    "box_x0": [10.0, 200.0], "box_y0": [20.0, 100.0],
                                    "box_x1": [150.0, 400.0], "box_y1": [200.0, 300.0]})
            ref = VlmReferrer(vlm, GroundingDinoGrounder(gdino, box_threshold=0.0, text_threshold=0.0, device=device),
                              iou_threshold=0.5, max_new_tokens=8, device=device)
            referrals, t_ref = timed(lambda: ref.refer(image, objects), repeat=1)
            assert dets.masks.shape[1:] == (384, 512) and pm.xyz.shape == (384, 512, 3) and len(referrals) == 2
            results[device] = (dets, pm)
            print(f"[{device}] grounded_sam {t_det * 1e3:7.1f} ms ({len(dets)} masks) | depth_anything "
                  f"{t_pm * 1e3:7.1f} ms | vlm referral + grounding {t_ref * 1e3:7.1f} ms for 2 objects")
        if "cuda" in results:
            (d_cpu, p_cpu), (d_gpu, p_gpu) = results["cpu"], results["cuda"]
            z_cpu, z_gpu = p_cpu.xyz[..., 2], p_gpu.xyz[..., 2]
            # random-init scores nearly tie, so the order can differ by device: match boxes as sets
            nearest = np.abs(d_cpu.boxes[:, None, :] - d_gpu.boxes[None, :, :]).max(axis=2).min(axis=1) \
                if len(d_cpu) and len(d_gpu) else np.array([np.nan])
            print(f"cuda vs cpu: depth max relative difference {np.max(np.abs(z_gpu - z_cpu) / np.maximum(z_cpu, 1e-6)):.2e}; "
                  f"detections {len(d_cpu)} vs {len(d_gpu)}; each CPU box's nearest CUDA box within "
                  f"{np.max(nearest):.3f} px (median {np.median(nearest):.3f})")


if __name__ == "__main__":
    main()
