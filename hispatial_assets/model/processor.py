"""Model inputs: PaliGemma's processor for image + text, and the point map as the input mode wants it.

The image side is SigLIP's PIL image processor (torchvision must not be a dependency: the only wheel
for torch 2.13.0 is a CUDA build that fails on CPU). ``PaliGemmaProcessor`` builds
``<image>×N <bos> question \\n`` and, given answers as ``suffix``, labels with the prefix masked, so
the loss is on the answer and its EOS only.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from hispatial_assets.geometry.camera import PointMap, nearest_indices
from hispatial_assets.model.tokenizer import IMAGE_TOKEN

# For rgb_reldepth: depth mapped to [0, 1] between these percentiles of the image's valid depths, so one
# flying pixel does not squash the rest (the model sees order and relative spacing, never meters).
RELDEPTH_PERCENTILES = (2.0, 98.0)


def build_processor(tokenizer, image_size: int, patch_size: int):
    """A PaliGemma processor for a locally trained tokenizer and a square SigLIP input."""
    from transformers import PaliGemmaProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    image_processor = SiglipImageProcessorPil(size={"height": image_size, "width": image_size})
    image_processor.image_seq_length = (image_size // patch_size) ** 2
    return PaliGemmaProcessor(image_processor=image_processor, tokenizer=tokenizer)


def load_processor(path: str):
    """The processor saved with a checkpoint (ours or a PaliGemma2 base), from a local folder only."""
    from transformers import AutoTokenizer, PaliGemmaProcessor
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil

    image_processor = SiglipImageProcessorPil.from_pretrained(path, local_files_only=True)
    if not getattr(image_processor, "image_seq_length", None):
        raise ValueError(f"{path}: the image processor config has no image_seq_length")
    tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
    return PaliGemmaProcessor(image_processor=image_processor, tokenizer=tokenizer)


def relative_depth(point_map: PointMap) -> np.ndarray:
    """(H, W) float32 depth normalized per image to [0, 1] (robust min/max), 0 where invalid."""
    z = np.where(point_map.mask, point_map.xyz[..., 2], np.nan)
    valid = point_map.mask & np.isfinite(z)
    if not valid.any():
        return np.zeros(point_map.shape, np.float32)
    lo, hi = np.percentile(z[valid], RELDEPTH_PERCENTILES)
    rel = np.clip((z - lo) / max(hi - lo, 1e-6), 0.0, 1.0)
    return np.where(valid, rel, 0.0).astype(np.float32)


def point_map_input(point_map: PointMap | None, mode: str, size: int) -> np.ndarray | None:
    """(4, size, size) float32 for the XYZ branch, or None in ``rgb`` mode.

    Channels: x, y, z (meters, camera frame; for ``rgb_reldepth`` 0, 0, relative depth) and the
    validity mask, resized nearest-neighbour to the vision input. No map (e.g. a general-VQA image
    without one) gives an all-invalid input.
    """
    if mode == "rgb":
        return None
    out = np.zeros((4, size, size), np.float32)
    if point_map is None:
        return out
    h, w = point_map.shape
    rows, cols = nearest_indices(size, h), nearest_indices(size, w)
    mask = np.asarray(point_map.mask, bool)[np.ix_(rows, cols)]
    if mode == "rgb_reldepth":
        out[2] = relative_depth(point_map)[np.ix_(rows, cols)]
    elif mode in ("rgb_xyz", "rgb_gt_xyz"):
        xyz = np.asarray(point_map.xyz, np.float32)[np.ix_(rows, cols)]
        mask &= np.isfinite(xyz).all(axis=-1)
        out[:3] = np.moveaxis(np.where(mask[..., None], xyz, 0.0), -1, 0)
    else:
        raise ValueError(f"unknown input mode {mode!r}")
    out[:3] *= mask
    out[3] = mask
    return out


def encode_batch(processor, images: Sequence[np.ndarray], questions: Sequence[str],
                 point_inputs: Sequence[np.ndarray | None], answers: Sequence[str] | None = None,
                 padding_side: str = "right") -> dict[str, torch.Tensor]:
    """Tensors for one batch: input_ids, attention_mask, token_type_ids, pixel_values, labels (with
    answers) and point_maps (B, 4, S, S; absent in ``rgb`` mode). Right padding for training, left for
    generation."""
    processor.tokenizer.padding_side = padding_side
    batch = processor(images=list(images), text=[IMAGE_TOKEN + q for q in questions],
                      suffix=list(answers) if answers is not None else None, padding="longest", return_tensors="pt")
    batch = dict(batch)
    if answers is None:
        batch.pop("labels", None)
    if any(p is not None for p in point_inputs):
        if any(p is None for p in point_inputs):
            raise ValueError("a batch mixes rows with and without point-map inputs")
        batch["point_maps"] = torch.from_numpy(np.stack(point_inputs))
    return batch
