"""The RGB-XYZ VLM: transformers' PaliGemma with a point-map branch (paper "Point-cloud Enhanced RGB-D VLM").

The point map X (B, 4, H, W: XYZ in meters, camera frame, + validity mask) is resized nearest-neighbour
to the vision input, encoded with sinusoids, and patchified by a learnable conv on SigLIP's patch grid.
The paper concatenates these features with SigLIP's and applies one linear projector, W [f_rgb; f_xyz];
that is exactly ``projector(f_rgb) + xyz_projector(f_xyz)`` with W = [W_rgb | W_xyz], which keeps the
base checkpoint's keys. ``xyz_projector`` starts at zero, so a loaded base behaves exactly as without
the branch until training moves it.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from transformers import PaliGemmaForConditionalGeneration, PaliGemmaModel
from transformers import initialization as init
from transformers.conversion_mapping import (
    USER_REGISTERED_MAPPINGS,
    get_checkpoint_conversion_mapping,
    register_checkpoint_conversion_mapping,
)
from transformers.models.paligemma.modeling_paligemma import PaliGemmaPreTrainedModel

from hispatial_assets.model.config import HiSpatialConfig


class XYZEncoder(nn.Module):
    """(B, 4, H, W) point map -> (B, N, C) features, one per SigLIP patch (N = grid², C = xyz_hidden_size)."""

    def __init__(self, config: HiSpatialConfig):
        super().__init__()
        self.config = config
        patch = config.vision_config.patch_size
        self.patchify = nn.Conv2d(config.xyz_in_channels, config.xyz_hidden_size, kernel_size=patch, stride=patch)

    def angular_frequencies(self, device: torch.device) -> torch.Tensor:
        """2π / wavelength, geometric from the longest to the shortest wavelength. Computed here, not kept as a
        buffer: non-persistent buffers come back uninitialized from a meta-device ``from_pretrained``."""
        c = self.config
        t = torch.linspace(0.0, 1.0, c.xyz_frequencies, device=device, dtype=torch.float32)
        wavelengths = c.xyz_max_wavelength * (c.xyz_min_wavelength / c.xyz_max_wavelength) ** t
        return 2 * math.pi / wavelengths

    def forward(self, point_maps: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        if tuple(point_maps.shape[-2:]) != tuple(size):
            point_maps = F.interpolate(point_maps.float(), size=tuple(size), mode="nearest")
        xyz, mask = point_maps[:, :3].float(), point_maps[:, 3:4].float()
        xyz = torch.where(mask > 0, xyz, torch.zeros_like(xyz))  # invalid pixels may hold anything, NaN included
        angles = xyz[:, :, None] * self.angular_frequencies(xyz.device)[None, None, :, None, None]  # (B, 3, F, H, W)
        encoded = torch.cat([angles.sin(), angles.cos()], dim=2).flatten(1, 2) * mask  # (B, 6F, H, W)
        x = torch.cat([encoded, mask], dim=1).to(self.patchify.weight.dtype)  # sinusoids in float32, conv in model dtype
        return self.patchify(x).flatten(2).transpose(1, 2)


class HiSpatialModel(PaliGemmaModel):
    config_class = HiSpatialConfig
    config: HiSpatialConfig

    def __init__(self, config: HiSpatialConfig):
        super().__init__(config)
        self.xyz_encoder = XYZEncoder(config)
        self.xyz_projector = nn.Linear(config.xyz_hidden_size, config.projection_dim)
        self.post_init()

    def _init_weights(self, module: nn.Module) -> None:
        super()._init_weights(module)
        if module is getattr(self, "xyz_projector", None):
            init.zeros_(module.weight)
            init.zeros_(module.bias)

    def get_image_features(self, pixel_values: torch.Tensor, point_maps: torch.Tensor | None = None, **kwargs):
        """SigLIP features through the projector, plus the projected XYZ features when ``point_maps`` is given.

        pixel_values: (B, 3, S, S); point_maps: (B, 4, H, W), resized to S×S nearest-neighbour.
        Returns the vision tower's output with ``pooler_output`` (B, N, text hidden) holding the image tokens.
        ``generate()`` passes every argument named here through, so point maps reach generation too.
        """
        outputs = super().get_image_features(pixel_values, **kwargs)
        if point_maps is not None:
            xyz = self.xyz_encoder(point_maps.to(pixel_values.device), pixel_values.shape[-2:])
            outputs.pooler_output = outputs.pooler_output + self.xyz_projector(xyz).to(outputs.pooler_output.dtype)
        return outputs

    def forward(self, input_ids: torch.LongTensor | None = None, pixel_values: torch.Tensor | None = None,
                point_maps: torch.Tensor | None = None, mm_encoder_outputs: dict | None = None, **kwargs):
        pixel_values, mm_encoder_outputs = encode_images(self, pixel_values, point_maps, mm_encoder_outputs)
        return super().forward(input_ids=input_ids, pixel_values=pixel_values, mm_encoder_outputs=mm_encoder_outputs,
                               **kwargs)


def encode_images(model: HiSpatialModel, pixel_values, point_maps, mm_encoder_outputs):
    """Run the image branch up front when there is a point map: PaliGemma's forward would call
    ``get_image_features(pixel_values)`` without it."""
    if point_maps is None or pixel_values is None or mm_encoder_outputs is not None:
        return pixel_values, mm_encoder_outputs
    return None, {"image": model.get_image_features(pixel_values, point_maps=point_maps)}


class HiSpatialForConditionalGeneration(PaliGemmaForConditionalGeneration):
    config_class = HiSpatialConfig
    config: HiSpatialConfig

    def __init__(self, config: HiSpatialConfig):
        PaliGemmaPreTrainedModel.__init__(self, config)  # PaliGemma's __init__ would build a PaliGemmaModel
        self.model = HiSpatialModel(config)
        self.lm_head = nn.Linear(config.text_config.hidden_size, config.text_config.vocab_size, bias=False)
        self.post_init()

    def get_image_features(self, pixel_values: torch.Tensor, point_maps: torch.Tensor | None = None, **kwargs):
        return self.model.get_image_features(pixel_values, point_maps=point_maps, **kwargs)

    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        pixel_values: torch.Tensor | None = None,
        point_maps: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        cache=None,
        token_type_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.Tensor | None = None,
        labels: torch.LongTensor | None = None,
        use_cache: bool | None = None,
        logits_to_keep: int | torch.Tensor = 0,
        mm_encoder_outputs: dict | None = None,
        **kwargs,
    ):
        """PaliGemma's forward with ``point_maps`` (B, 4, H, W). ``token_type_ids`` (0 = prefix, attended
        bidirectionally; 1 = suffix) is listed explicitly because ``generate()`` only passes listed arguments."""
        pixel_values, mm_encoder_outputs = encode_images(self.model, pixel_values, point_maps, mm_encoder_outputs)
        return super().forward(input_ids=input_ids, pixel_values=pixel_values, attention_mask=attention_mask,
                               position_ids=position_ids, cache=cache, token_type_ids=token_type_ids,
                               inputs_embeds=inputs_embeds, labels=labels, use_cache=use_cache,
                               logits_to_keep=logits_to_keep, mm_encoder_outputs=mm_encoder_outputs, **kwargs)


def register_paligemma_key_renaming() -> None:
    """Our classes are "custom code" to transformers, which then skips PaliGemma's checkpoint key renaming:
    without this every language-model weight of a PaliGemma checkpoint would load as missing."""
    for cls in (HiSpatialForConditionalGeneration,):
        if cls.__name__ not in USER_REGISTERED_MAPPINGS:
            register_checkpoint_conversion_mapping(cls.__name__, get_checkpoint_conversion_mapping("paligemma"),
                                                   overwrite=True)


register_paligemma_key_renaming()
