"""The RGB-XYZ model's one config: PaliGemma's, plus the XYZ branch (DESIGN §5).

Unlike transformers' configs, the defaults build the *tiny* model that trains on a CPU in minutes
(SigLIP 64 px / 8 px patches, a 2-layer 128-wide Gemma). `paligemma2_config` gives the real
PaliGemma2-3B shape, for the GPU benchmark and as the template of a real base checkpoint.
"""

from __future__ import annotations

from transformers import PaliGemmaConfig
from transformers.configuration_utils import SubConfigSpec
from transformers.models.auto import AutoConfig

from hispatial_assets.model.recipes import MODALITIES
from hispatial_assets.model.tokenizer import SPECIAL_TOKENS, IMAGE_TOKEN

TINY_VISION = {
    "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4,
    "patch_size": 8, "image_size": 64, "vision_use_head": False,
}
# The tiny LLM is a Gemma (PaliGemma 1's) rather than a Gemma2 (PaliGemma2's): Gemma2's attention-logit
# softcapping rules out SDPA, and eager attention doubled the CPU step time. The real base is PaliGemma2
# through the same classes.
TINY_TEXT = {
    "hidden_size": 128, "intermediate_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
    "num_key_value_heads": 1, "head_dim": 32, "max_position_embeddings": 512, "vocab_size": 2048,
    "is_encoder_decoder": False,
    "pad_token_id": SPECIAL_TOKENS.index("<pad>"), "eos_token_id": SPECIAL_TOKENS.index("<eos>"),
    "bos_token_id": SPECIAL_TOKENS.index("<bos>"),
}


class HiSpatialConfig(PaliGemmaConfig):
    """PaliGemma + the point-map branch: ``xyz_*`` fields and the input mode it was trained with.

    ``xyz_frequencies`` sinusoids per coordinate, wavelengths spaced geometrically from
    ``xyz_min_wavelength`` to ``xyz_max_wavelength`` (meters), then a patchify conv to
    ``xyz_hidden_size`` channels (0: the vision tower's width) and the zero-initialized projector.
    """

    model_type = "hispatial"
    sub_configs_defaults = {
        "vision_config": SubConfigSpec(config_class=AutoConfig, model_type="siglip_vision_model", init_kwargs=TINY_VISION),
        "text_config": SubConfigSpec(config_class=AutoConfig, model_type="gemma", init_kwargs=TINY_TEXT),
    }

    image_token_index: int = SPECIAL_TOKENS.index(IMAGE_TOKEN)
    vocab_size: int = 2048
    projection_dim: int = 128
    hidden_size: int = 128
    input_mode: str = "rgb_xyz"
    xyz_frequencies: int = 8
    xyz_min_wavelength: float = 0.05
    xyz_max_wavelength: float = 100.0
    xyz_hidden_size: int = 0

    def __post_init__(self, **kwargs):
        super().__post_init__(**kwargs)
        if self.input_mode not in MODALITIES:
            raise ValueError(f"unknown input_mode {self.input_mode!r}; modes: {', '.join(MODALITIES)}")
        if not self.xyz_hidden_size:
            self.xyz_hidden_size = self.vision_config.hidden_size

    @property
    def xyz_in_channels(self) -> int:
        """sin and cos of each frequency for x, y and z, plus the validity mask."""
        return 3 * 2 * self.xyz_frequencies + 1


def tiny_config(input_mode: str = "rgb_xyz", **overrides) -> HiSpatialConfig:
    """The tiny default with ``overrides``. A sub-config given as a dict changes only the fields it names:
    transformers would otherwise build it from its own (full-size) defaults."""
    for key, tiny in (("vision_config", TINY_VISION), ("text_config", TINY_TEXT)):
        if isinstance(overrides.get(key), dict):
            overrides[key] = {**tiny, **overrides[key]}
    return HiSpatialConfig(input_mode=input_mode, **overrides)


def paligemma2_config(image_size: int = 448, *, scale: float = 1.0, layers: int | None = None,
                      vocab_size: int = 257216, **overrides) -> dict:
    """PaliGemma2-3B's architecture as config kwargs (``scale`` < 1 narrows it, for tests).

    SigLIP-So400m/14 + Gemma2-2B: the base this project fine-tunes on a GPU machine.
    """
    def w(n: int, multiple: int = 16) -> int:
        return max(multiple, int(round(n * scale / multiple)) * multiple)

    heads_v, heads_t = (16, 8) if scale >= 1 else (2, 2)
    head_dim = 256 if scale >= 1 else w(256, 8)
    vision = {"hidden_size": w(1152), "intermediate_size": w(4304), "num_hidden_layers": layers or 27,
              "num_attention_heads": heads_v, "patch_size": 14, "image_size": image_size, "vision_use_head": False,
              "model_type": "siglip_vision_model"}
    text = {"hidden_size": w(2304), "intermediate_size": w(9216), "num_hidden_layers": layers or 26,
            "num_attention_heads": heads_t, "num_key_value_heads": heads_t // 2 if heads_t > 2 else 1,
            "head_dim": head_dim, "query_pre_attn_scalar": head_dim, "sliding_window": 4096,
            "vocab_size": vocab_size, "model_type": "gemma2"}
    return {"vision_config": vision, "text_config": text, "image_token_index": 257152, "vocab_size": vocab_size,
            "projection_dim": text["hidden_size"], "hidden_size": text["hidden_size"], **overrides}


AutoConfig.register(HiSpatialConfig.model_type, HiSpatialConfig, exist_ok=True)  # AutoTokenizer reads config.json
