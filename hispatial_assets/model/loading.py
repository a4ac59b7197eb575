"""The three ways a model comes to be: the tiny random-init default, a local PaliGemma2 base, a trained
checkpoint of ours. All three give ``(model, processor)`` with float32 weights (training keeps float32
masters and runs bf16 under autocast); nothing is ever downloaded."""

from __future__ import annotations

from collections.abc import Iterable

import torch
from transformers.utils import logging as hf_logging

from hispatial_assets.model.config import HiSpatialConfig, tiny_config
from hispatial_assets.model.modeling import HiSpatialForConditionalGeneration
from hispatial_assets.model.processor import build_processor, load_processor
from hispatial_assets.model.tokenizer import DEFAULT_VOCAB_SIZE, IMAGE_TOKEN, train_tokenizer
from hispatial_assets.perception.base import require_checkpoint

hf_logging.disable_progress_bar()  # no "Loading weights" / "Writing model shards" bars in run logs

BASE_SETTING = "training.base_path in $HISPATIAL_CONFIG"


def build_default(texts: Iterable[str], input_mode: str, *, vocab_size: int = DEFAULT_VOCAB_SIZE,
                  **config_overrides) -> tuple[HiSpatialForConditionalGeneration, object]:
    """The tiny model (random init; seed torch first) with a tokenizer trained on ``texts``."""
    config = tiny_config(input_mode, **config_overrides)
    processor = build_processor(train_tokenizer(texts, vocab_size), config.vision_config.image_size,
                                config.vision_config.patch_size)
    tokenizer = processor.tokenizer
    assert tokenizer.convert_tokens_to_ids(IMAGE_TOKEN) == config.image_token_index
    config.vocab_size = config.text_config.vocab_size = len(tokenizer)  # + PaliGemma's <loc>/<seg> tokens
    return HiSpatialForConditionalGeneration(config), processor


class NotAPaliGemmaBase(ValueError):
    """The base checkpoint loaded with weights missing beyond the XYZ branch (not a PaliGemma checkpoint)."""


XYZ_KEYS = ("model.xyz_encoder.", "model.xyz_projector.")


def load_base(path: str | None, input_mode: str, *, setting: str = BASE_SETTING):
    """A PaliGemma(2) checkpoint saved by transformers (e.g. a local snapshot of google/paligemma2-3b-pt-448)
    with the XYZ branch added at zero. Only the XYZ keys may be new: anything else missing means the
    folder is not a PaliGemma checkpoint, and silently random weights would be worse than an error.
    Raises `CheckpointNotFound` naming ``path`` and ``setting`` when the folder is absent."""
    path = require_checkpoint(path, setting)
    config = HiSpatialConfig.from_pretrained(path, local_files_only=True, input_mode=input_mode)
    model, info = HiSpatialForConditionalGeneration.from_pretrained(
        path, config=config, local_files_only=True, dtype=torch.float32, output_loading_info=True)
    missing = sorted(k for k in info["missing_keys"] if not k.startswith(XYZ_KEYS))
    if missing:
        raise NotAPaliGemmaBase(f"{path} ({setting}) is not a PaliGemma checkpoint: {len(missing)} weights missing, "
                                f"e.g. {', '.join(missing[:3])}")
    return model, load_processor(path)


def load_trained(path: str, *, setting: str = "checkpoint uri"):
    """A checkpoint written by `train` (weights, config, processor)."""
    path = require_checkpoint(path, setting)
    model = HiSpatialForConditionalGeneration.from_pretrained(path, local_files_only=True, dtype=torch.float32)
    return model, load_processor(path)
