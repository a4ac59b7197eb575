"""Tiny models and inputs for the model tests, built from configs (random init, no downloads)."""

from __future__ import annotations

import numpy as np
import torch

from hispatial_assets.geometry.camera import PointMap, intrinsics_from_fov, unproject
from hispatial_assets.model.config import paligemma2_config
from hispatial_assets.model.processor import build_processor
from hispatial_assets.model.tokenizer import IMAGE_TOKEN, train_tokenizer

CORPUS = [f"How far is the {a} from the {b}? {d:.2f} m" for a in ("chair", "lamp", "table") for b in ("sofa", "box")
          for d in (0.5, 1.25, 3.0)]


def random_point_map(seed: int, h: int = 30, w: int = 40, holes: float = 0.2) -> PointMap:
    rng = np.random.default_rng(seed)
    depth = rng.uniform(0.5, 8.0, (h, w)).astype(np.float32)
    depth[rng.random((h, w)) < holes] = 0.0
    return unproject(depth, intrinsics_from_fov(w, h, 60.0))


def random_image(seed: int, h: int = 48, w: int = 64) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (h, w, 3), dtype=np.uint8)


def save_paligemma2_base(path, *, seed: int = 0) -> str:
    """A random-init PaliGemmaForConditionalGeneration of PaliGemma2's architecture (SigLIP + Gemma2) at
    reduced width, saved by transformers with its processor: what a local PaliGemma2 snapshot looks like."""
    from transformers import PaliGemmaConfig, PaliGemmaForConditionalGeneration

    processor = build_processor(train_tokenizer(CORPUS, 200), image_size=56, patch_size=14)
    vocab = len(processor.tokenizer)
    config = PaliGemmaConfig(**paligemma2_config(image_size=56, scale=1 / 16, layers=2, vocab_size=vocab,
                                                 image_token_index=processor.tokenizer.convert_tokens_to_ids(IMAGE_TOKEN)))
    torch.manual_seed(seed)
    PaliGemmaForConditionalGeneration(config).save_pretrained(path)
    processor.save_pretrained(path)
    return str(path)
