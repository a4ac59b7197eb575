"""MoGe-2 without the ``moge`` package: the network, its official checkpoint files, and its inference.

MoGe-2 (Wang et al., 2025) maps an RGB image to an affine-invariant point map (known up to a scale and
a z-shift), a validity mask, optionally normals, and a metric scale read from the class token. Its
architecture, as in the official ``moge/model/v2.py``:

- **encoder**: a DINOv2 ViT/14 (transformers' `Dinov2Model`, with the official position-embedding
  interpolation) on the image resized to a token grid of the requested budget; the normalized patch
  tokens of a few intermediate blocks are each projected by a 1x1 conv and summed;
- **neck**: a 5-level conv pyramid (each level doubles the resolution) fed with the features and, at
  every level, the view-plane UV of its pixels;
- **heads**: conv pyramids for points (3), mask (1) and optionally normals (3), read at the finest level
  and resized to the image; an MLP on the class token gives the log metric scale.

Inference (`infer`) then does what MoGe-2 does: recover the focal length and the z-shift that make the
predicted points a pinhole projection (`recover_focal_shift`, a least-squares fit on a 64x64 sample),
shift the points into camera space, re-lift the depth through the recovered intrinsics, apply the metric
scale and the mask. Points are in the OpenCV camera frame (x right, y down, z forward), meters.

Checkpoints are the official ``model.pt`` files: ``{"model_config": {...}, "model": state_dict}``.
`load_checkpoint` reads them strictly (every key used, every shape matched); `save_checkpoint` writes
that layout. The only conversion is the DINOv2 backbone's names (the fused ``qkv`` is split in three).
"""

from __future__ import annotations

import copy
import io as _io
import itertools
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from hispatial_assets.geometry.camera import PointMap, unproject

PATCH = 14
IMAGE_MEAN = (0.485, 0.456, 0.406)
IMAGE_STD = (0.229, 0.224, 0.225)

# The official DINOv2 hub backbones MoGe builds by name (ViT/14, 518 px, layer scale, 4x MLP).
BACKBONES: dict[str, dict[str, int]] = {
    "dinov2_vits14": {"hidden_size": 384, "num_hidden_layers": 12, "num_attention_heads": 6},
    "dinov2_vitb14": {"hidden_size": 768, "num_hidden_layers": 12, "num_attention_heads": 12},
    "dinov2_vitl14": {"hidden_size": 1024, "num_hidden_layers": 24, "num_attention_heads": 16},
}
SIZES = {"vits": "dinov2_vits14", "vitb": "dinov2_vitb14", "vitl": "dinov2_vitl14"}


# ---------------------------------------------------------------------------------------------- configs

def moge2_config(size: str = "vitl", normal: bool = True, *, dim: int | None = None,
                 dims: Sequence[int] = (256, 128, 64, 32), backbone_config: dict | None = None) -> dict:
    """A MoGe-2 ``model_config`` in the official layout.

    ``size`` picks the DINOv2 backbone (vits / vitb / vitl); ``dim`` is the width of the projected
    encoder features (the neck's first level), ``dims`` the widths of the four finer levels. The
    defaults of ``vitl`` are the published ViT-L models (the official training config; 331M parameters
    with the normal head, 326M without); `PUBLISHED` holds the ViT-B and ViT-S widths, inferred from
    their published parameter counts (104M, 35M). ``backbone_config`` overrides the backbone's widths
    (``hidden_size``, ``num_attention_heads``, ``mlp_ratio``): reduced models of a size's
    architecture for tests; the official code cannot read that key.
    """
    backbone = SIZES[size]
    depth = BACKBONES[backbone]["num_hidden_layers"]
    hidden = {**BACKBONES[backbone], **(backbone_config or {})}["hidden_size"]
    dim = int(dim if dim is not None else hidden)
    levels = [dim, *[int(d) for d in dims]]
    resamplers = ["conv_transpose", "conv_transpose", "conv_transpose", "bilinear"]
    taps = [depth // 4 * (i + 1) - 1 for i in range(4)]  # 12 blocks: 2, 5, 8, 11; 24 blocks: 5, 11, 17, 23

    def head(channels: int) -> dict:
        return {"dim_in": list(levels), "dim_out": [None, None, None, None, channels], "dim_res_blocks": list(levels),
                "num_res_blocks": [0, 1, 1, 1, 0], "res_block_in_norm": "none", "res_block_hidden_norm": "none",
                "resamplers": list(resamplers)}

    encoder: dict[str, Any] = {"backbone": backbone, "intermediate_layers": taps, "dim_out": dim}
    if backbone_config:
        encoder["backbone_config"] = dict(backbone_config)
    config = {
        "encoder": encoder,
        "neck": {"dim_in": [dim + 2, 2, 2, 2, 2], "dim_out": None, "dim_res_blocks": list(levels),
                 "num_res_blocks": [0, 2, 2, 2, 0], "res_block_in_norm": "none", "res_block_hidden_norm": "none",
                 "resamplers": list(resamplers)},
        "points_head": head(3),
        "mask_head": head(1),
        "scale_head": {"dims": [hidden, hidden, hidden, 1]},
        "remap_output": "exp",
        "num_tokens_range": [1200, 3600],
    }
    if normal:
        config["normal_head"] = head(3)
    return config


PUBLISHED: dict[str, dict] = {
    "moge-2-vitl": moge2_config("vitl", normal=False),
    "moge-2-vitl-normal": moge2_config("vitl", normal=True),
    "moge-2-vitb-normal": moge2_config("vitb", normal=True, dim=512),
    "moge-2-vits-normal": moge2_config("vits", normal=True, dim=128),
}


# ---------------------------------------------------------------------------------------------- network

def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "group_norm":
        return nn.GroupNorm(channels // 32, channels)
    if kind == "layer_norm":
        return nn.GroupNorm(1, channels)
    if kind == "instance_norm":
        return nn.InstanceNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ValueError(f"unknown MoGe norm {kind!r}")


_ACTIVATIONS = {"relu": nn.ReLU, "leaky_relu": lambda: nn.LeakyReLU(0.2), "silu": nn.SiLU, "elu": nn.ELU}


def _conv3(cin: int, cout: int) -> nn.Conv2d:
    return nn.Conv2d(cin, cout, kernel_size=3, padding=1, padding_mode="replicate")


class ResidualConvBlock(nn.Module):
    """norm - act - conv3 - norm - act - conv3, plus a (1x1 conv) skip."""

    def __init__(self, channels: int, hidden: int, activation: str = "relu", in_norm: str = "layer_norm",
                 hidden_norm: str = "group_norm"):
        super().__init__()
        act = _ACTIVATIONS[activation]
        self.layers = nn.Sequential(_norm(in_norm, channels), act(), _conv3(channels, hidden),
                                    _norm(hidden_norm, hidden), act(), _conv3(hidden, channels))
        self.skip_connection = nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x) + self.skip_connection(x)


def _upsampler(cin: int, cout: int, kind: str) -> nn.Sequential:
    """x2 upsampling as MoGe names it (the conv's index in the Sequential is part of its key)."""
    if kind == "conv_transpose":
        return nn.Sequential(nn.ConvTranspose2d(cin, cout, kernel_size=2, stride=2), _conv3(cout, cout))
    if kind in ("bilinear", "nearest"):
        up = nn.Upsample(scale_factor=2, mode=kind, align_corners=False if kind == "bilinear" else None)
        return nn.Sequential(up, _conv3(cin, cout))
    raise ValueError(f"unsupported MoGe resampler {kind!r} (native: conv_transpose, bilinear, nearest)")


def _per_level(value: Any, n: int) -> list:
    return list(value) if isinstance(value, (list, tuple)) else [value] * n


class ConvStack(nn.Module):
    """A coarse-to-fine conv pyramid: level i adds its input (1x1 conv), runs residual blocks, emits
    an output (1x1 conv) and is upsampled x2 into level i + 1."""

    def __init__(self, dim_in: Sequence[int | None] | int | None, dim_res_blocks: Sequence[int],
                 dim_out: Sequence[int | None] | int | None, resamplers: Sequence[str] | str,
                 dim_times_res_block_hidden: int = 1, num_res_blocks: Sequence[int] | int = 1,
                 res_block_in_norm: str = "layer_norm", res_block_hidden_norm: str = "group_norm",
                 activation: str = "relu"):
        super().__init__()
        n = len(dim_res_blocks)
        dim_in, dim_out = _per_level(dim_in, n), _per_level(dim_out, n)
        blocks, kinds = _per_level(num_res_blocks, n), _per_level(resamplers, n - 1)

        def conv1(cin: int | None, cout: int | None) -> nn.Module:
            return nn.Identity() if cin is None or cout is None else nn.Conv2d(cin, cout, kernel_size=1)

        self.input_blocks = nn.ModuleList(conv1(i, d) for i, d in zip(dim_in, dim_res_blocks))
        self.resamplers = nn.ModuleList(_upsampler(a, b, k) for a, b, k in zip(dim_res_blocks[:-1], dim_res_blocks[1:], kinds))
        self.res_blocks = nn.ModuleList(
            nn.Sequential(*[ResidualConvBlock(d, dim_times_res_block_hidden * d, activation, res_block_in_norm,
                                              res_block_hidden_norm) for _ in range(blocks[i])])
            for i, d in enumerate(dim_res_blocks))
        self.output_blocks = nn.ModuleList(conv1(d, o) for d, o in zip(dim_res_blocks, dim_out))

    def forward(self, features: list[torch.Tensor]) -> list[torch.Tensor]:
        outputs, x = [], None
        for i, res_blocks in enumerate(self.res_blocks):
            level = self.input_blocks[i](features[i])
            x = level if x is None else x + level
            x = res_blocks(x)
            outputs.append(self.output_blocks[i](x))
            if i < len(self.resamplers):
                x = self.resamplers[i](x)
        return outputs


class MLP(nn.Sequential):
    """Linear layers with ReLU between them (the metric-scale head)."""

    def __init__(self, dims: Sequence[int]):
        layers: list[nn.Module] = []
        for a, b in zip(dims[:-2], dims[1:-1]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        super().__init__(*layers, nn.Linear(dims[-2], dims[-1]))


def _dinov2_class() -> type:
    from transformers import Dinov2Model

    class OfficialPositionsDinov2(Dinov2Model):
        """transformers' DINOv2 with the official position-embedding interpolation.

        The official code resizes the 37x37 grid with bicubic ``scale_factor = (tokens + 0.1) / 37``
        (its historical offset); transformers asks for the output size instead, which samples at
        slightly different places. Both give the same shape; only the official one matches its weights'
        outputs.
        """

        def __init__(self, config: Any):
            super().__init__(config)
            embeddings = self.embeddings

            def interpolate(tokens: torch.Tensor, height: int, width: int) -> torch.Tensor:
                table = embeddings.position_embeddings
                n = table.shape[1] - 1
                rows, cols = height // PATCH, width // PATCH
                if tokens.shape[1] - 1 == n and rows == cols:
                    return table
                side = int(round(n ** 0.5))
                grid = table[:, 1:].float().reshape(1, side, side, -1).permute(0, 3, 1, 2)
                grid = F.interpolate(grid, scale_factor=((rows + 0.1) / side, (cols + 0.1) / side), mode="bicubic",
                                     antialias=False)
                grid = grid.permute(0, 2, 3, 1).flatten(1, 2)
                return torch.cat([table[:, :1].float(), grid], dim=1).to(table.dtype)

            embeddings.interpolate_pos_encoding = interpolate

    return OfficialPositionsDinov2


class DINOv2Encoder(nn.Module):
    """Image in [0, 1] -> summed 1x1 projections of tapped DINOv2 blocks (B, dim_out, rows, cols) and the
    normalized class token of the last tapped block."""

    def __init__(self, backbone: str, intermediate_layers: int | Sequence[int], dim_out: int,
                 backbone_config: dict | None = None, **ignored: Any):
        super().__init__()
        from transformers import Dinov2Config

        if backbone not in BACKBONES:
            raise ValueError(f"unsupported MoGe backbone {backbone!r}; native: {', '.join(BACKBONES)}")
        sizes = {**BACKBONES[backbone], **(backbone_config or {})}
        config = Dinov2Config(**sizes, patch_size=PATCH, image_size=518, layerscale_value=1.0, layer_norm_eps=1e-6,
                              qkv_bias=True, use_swiglu_ffn=False, hidden_act="gelu")
        config._attn_implementation = "sdpa"
        depth = sizes["num_hidden_layers"]
        taps = range(depth - intermediate_layers, depth) if isinstance(intermediate_layers, int) else intermediate_layers
        self.taps = sorted(int(t) for t in taps)
        self.backbone = _dinov2_class()(config)
        width = sizes["hidden_size"]
        self.output_projections = nn.ModuleList(nn.Conv2d(width, dim_out, kernel_size=1) for _ in self.taps)
        self.register_buffer("image_mean", torch.tensor(IMAGE_MEAN).view(1, 3, 1, 1))
        self.register_buffer("image_std", torch.tensor(IMAGE_STD).view(1, 3, 1, 1))

    def forward(self, image: torch.Tensor, rows: int, cols: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.interpolate(image, (rows * PATCH, cols * PATCH), mode="bilinear", align_corners=False, antialias=True)
        x = (x - self.image_mean) / self.image_std
        tokens = self.backbone.embeddings(x)
        tapped = []
        for i, layer in enumerate(self.backbone.encoder.layer[: self.taps[-1] + 1]):
            tokens = layer(tokens)
            if i in self.taps:
                tapped.append(self.backbone.layernorm(tokens))
        grids = [t[:, 1:].transpose(1, 2).unflatten(2, (rows, cols)) for t in tapped]
        features = torch.stack([proj(g.contiguous()) for proj, g in zip(self.output_projections, grids)], dim=1).sum(dim=1)
        return features, tapped[-1][:, 0]


def view_plane_uv(width: int, height: int, aspect_ratio: float | None = None, dtype: torch.dtype = torch.float32,
                  device: Any = None) -> torch.Tensor:
    """(H, W, 2) pixel-center coordinates on the view plane, the image's diagonal spanning 2 units:
    u in (-w/d, w/d), v in (-h/d, h/d) with d the diagonal (of ``aspect_ratio`` when given)."""
    a = width / height if aspect_ratio is None else aspect_ratio
    span_x, span_y = a / (1 + a * a) ** 0.5, 1 / (1 + a * a) ** 0.5
    u = ((torch.arange(width, dtype=torch.float64, device=device) + 0.5) / width * 2 - 1) * span_x
    v = ((torch.arange(height, dtype=torch.float64, device=device) + 0.5) / height * 2 - 1) * span_y
    return torch.stack(torch.meshgrid(u, v, indexing="xy"), dim=-1).to(dtype)


class MoGe2Net(nn.Module):
    """The MoGe-2 network; constructor arguments are an official ``model_config``."""

    def __init__(self, encoder: dict, neck: dict, points_head: dict | None = None, mask_head: dict | None = None,
                 normal_head: dict | None = None, scale_head: dict | None = None, remap_output: str = "linear",
                 num_tokens_range: Sequence[int] = (1200, 3600), **ignored: Any):
        super().__init__()
        self.remap_output = remap_output
        self.num_tokens_range = (int(num_tokens_range[0]), int(num_tokens_range[1]))
        self.encoder = DINOv2Encoder(**encoder)
        self.neck = ConvStack(**neck)
        for name, cfg in (("points_head", points_head), ("mask_head", mask_head), ("normal_head", normal_head)):
            if cfg is not None:
                setattr(self, name, ConvStack(**cfg))
        if scale_head is not None:
            self.scale_head = MLP(**scale_head)

    def num_tokens(self, resolution_level: int = 9) -> int:
        """The token budget of a resolution level (0..9), spread over the trained range."""
        lo, hi = self.num_tokens_range
        return int(lo + (resolution_level / 9) * (hi - lo))

    def _remap(self, points: torch.Tensor) -> torch.Tensor:
        if self.remap_output == "linear":
            return points
        if self.remap_output == "sinh":
            return torch.sinh(points)
        xy, z = points.split([2, 1], dim=-1)
        if self.remap_output == "exp":
            z = torch.exp(z)
            return torch.cat([xy * z, z], dim=-1)
        if self.remap_output == "sinh_exp":
            return torch.cat([torch.sinh(xy), torch.exp(z)], dim=-1)
        raise ValueError(f"unknown MoGe remap_output {self.remap_output!r}")

    def forward(self, image: torch.Tensor, num_tokens: int) -> dict[str, torch.Tensor]:
        """image (B, 3, H, W) RGB in [0, 1] -> points (B, H, W, 3) affine-invariant, mask (B, H, W)
        probability, normal (B, H, W, 3) unit, metric_scale (B,), each when its head exists."""
        b, _, h, w = image.shape
        aspect = w / h
        rows, cols = round((num_tokens / aspect) ** 0.5), round((num_tokens * aspect) ** 0.5)
        features, cls_token = self.encoder(image, rows, cols)
        levels = []
        for level in range(5):
            uv = view_plane_uv(cols * 2 ** level, rows * 2 ** level, aspect, image.dtype, image.device)
            uv = uv.permute(2, 0, 1).unsqueeze(0).expand(b, -1, -1, -1)
            levels.append(torch.cat([features, uv], dim=1) if level == 0 else uv)
        levels = self.neck(levels)

        out: dict[str, torch.Tensor] = {}
        for key, head in (("points", "points_head"), ("normal", "normal_head"), ("mask", "mask_head")):
            if hasattr(self, head):
                y = getattr(self, head)(levels)[-1]
                out[key] = F.interpolate(y, (h, w), mode="bilinear", align_corners=False, antialias=False)
        if "points" in out:
            out["points"] = self._remap(out["points"].permute(0, 2, 3, 1))
        if "normal" in out:
            out["normal"] = F.normalize(out["normal"].permute(0, 2, 3, 1), dim=-1)
        if "mask" in out:
            out["mask"] = out["mask"].squeeze(1).sigmoid()
        if hasattr(self, "scale_head"):
            out["metric_scale"] = self.scale_head(cls_token).squeeze(1).exp()
        return out


# ---------------------------------------------------------------------------------------------- checkpoints

_OFFICIAL = "encoder.backbone."
# official DINOv2 name (after "encoder.backbone.") -> transformers' (5.x) Dinov2Model name; qkv is split
# into q_proj, k_proj, v_proj
_RENAMES = [
    (r"cls_token", r"embeddings.cls_token"),
    (r"pos_embed", r"embeddings.position_embeddings"),
    (r"mask_token", r"embeddings.mask_token"),
    (r"patch_embed\.proj\.(weight|bias)", r"embeddings.patch_embeddings.projection.\1"),
    (r"blocks\.(\d+)\.norm1\.(weight|bias)", r"encoder.layer.\1.norm1.\2"),
    (r"blocks\.(\d+)\.attn\.proj\.(weight|bias)", r"encoder.layer.\1.attention.o_proj.\2"),
    (r"blocks\.(\d+)\.ls1\.gamma", r"encoder.layer.\1.layer_scale1.lambda1"),
    (r"blocks\.(\d+)\.norm2\.(weight|bias)", r"encoder.layer.\1.norm2.\2"),
    (r"blocks\.(\d+)\.mlp\.(fc1|fc2)\.(weight|bias)", r"encoder.layer.\1.mlp.\2.\3"),
    (r"blocks\.(\d+)\.ls2\.gamma", r"encoder.layer.\1.layer_scale2.lambda1"),
    (r"norm\.(weight|bias)", r"layernorm.\1"),
]
_QKV = re.compile(r"blocks\.(\d+)\.attn\.qkv\.(weight|bias)")
_SPLIT = re.compile(r"encoder\.layer\.(\d+)\.attention\.(q|k|v)_proj\.(weight|bias)")


def _swap(name: str, table: list[tuple[str, str]]) -> str | None:
    for pattern, target in table:
        if re.fullmatch(pattern, name):
            return re.sub(pattern, target, name)
    return None


def _rename_backbone(state: dict[str, torch.Tensor], rename) -> dict[str, torch.Tensor]:
    """``state`` with every backbone entry replaced by ``rename(name, value)``: a list of (name, value)."""
    out: dict[str, torch.Tensor] = {}
    for key, value in state.items():
        if not key.startswith(_OFFICIAL):
            out[key] = value
            continue
        for name, renamed in rename(key[len(_OFFICIAL):], value):
            out[_OFFICIAL + name] = renamed
    return out


def official_to_native(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """An official MoGe-2 state dict with the backbone under transformers' names (qkv split into
    q, k, v projections). Names it does not know are kept, so strict loading reports them."""
    def rename(name: str, value: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        m = _QKV.fullmatch(name)
        if m:
            return [(f"encoder.layer.{m[1]}.attention.{part}_proj.{m[2]}", chunk)
                    for part, chunk in zip("qkv", value.chunk(3, dim=0))]
        return [(_swap(name, _RENAMES) or name, value)]

    return _rename_backbone(state, rename)


def native_to_official(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The inverse of `official_to_native`: the keys and shapes of an official ``model.pt``."""
    reverse = [(re.sub(r"\\(\d)", r"(\\w+)", target).replace(".", r"\."), _to_template(pattern))
               for pattern, target in _RENAMES]
    qkv: dict[tuple[str, str], dict[str, torch.Tensor]] = {}

    def rename(name: str, value: torch.Tensor) -> list[tuple[str, torch.Tensor]]:
        m = _SPLIT.fullmatch(name)
        if m:  # joined below, once all three are seen
            qkv.setdefault((m[1], m[3]), {})[m[2]] = value
            return []
        return [(_swap(name, reverse) or name, value)]

    out = _rename_backbone(state, rename)
    for (block, kind), parts in qkv.items():
        out[f"{_OFFICIAL}blocks.{block}.attn.qkv.{kind}"] = torch.cat([parts["q"], parts["k"], parts["v"]])
    return out


def _to_template(pattern: str) -> str:
    """``blocks\\.(\\d+)\\.norm1\\.(weight|bias)`` -> ``blocks.\\1.norm1.\\2`` (groups numbered in order)."""
    counter = itertools.count(1)
    return re.sub(r"\([^)]*\)", lambda _: f"\\{next(counter)}", pattern).replace(r"\.", ".")


def build(config: dict, device: str | torch.device = "cpu") -> MoGe2Net:
    """A MoGe-2 of ``config`` with fresh weights (``device="meta"``: shapes only, nothing allocated)."""
    with torch.device(device):
        return MoGe2Net(**copy.deepcopy(config))


def checkpoint_file(path: str) -> str:
    """The ``model.pt`` a checkpoint path means: the path itself, or ``model.pt`` in that folder."""
    import os

    return os.path.join(path, "model.pt") if os.path.isdir(path) else path


def load_checkpoint(path: str, device: str = "cpu") -> MoGe2Net:
    """An official MoGe-2 ``model.pt`` (or a folder holding one), loaded strictly, in eval mode on ``device``."""
    from hispatial_assets.storage import io

    path = checkpoint_file(path)
    if not io.exists(path):
        raise FileNotFoundError(f"no MoGe checkpoint at {path}")
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except RuntimeError:  # a legacy (non-zip) file cannot be memory-mapped
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(checkpoint, dict) or "model_config" not in checkpoint or "model" not in checkpoint:
        raise ValueError(f"{path} is not a MoGe checkpoint (a dict with 'model_config' and 'model')")
    net = build(checkpoint["model_config"], "meta")
    load_state(net, checkpoint["model"], source=path)
    return net.to(device).eval()


def load_state(net: MoGe2Net, official: dict[str, torch.Tensor], source: str = "state dict") -> MoGe2Net:
    """Load an official state dict into ``net`` strictly; a clear error names every mismatched key."""
    native = official_to_native(official)
    expected = net.state_dict()
    missing = sorted(set(expected) - set(native))
    unexpected = sorted(set(native) - set(expected))
    wrong = sorted(k for k in set(expected) & set(native) if tuple(expected[k].shape) != tuple(native[k].shape))
    if missing or unexpected or wrong:
        def names(keys: list[str]) -> str:
            return ", ".join(keys[:8]) + (f" (+{len(keys) - 8} more)" if len(keys) > 8 else "")

        problems = [f"missing {names(missing)}" if missing else "", f"unexpected {names(unexpected)}" if unexpected else "",
                    "shape mismatch " + ", ".join(f"{k} {tuple(native[k].shape)} != {tuple(expected[k].shape)}"
                                                  for k in wrong[:8]) if wrong else ""]
        raise ValueError(f"{source} does not match its model_config: " + "; ".join(p for p in problems if p))
    net.load_state_dict({k: v.to(expected[k].dtype) for k, v in native.items()}, strict=True, assign=True)
    return net


def save_checkpoint(net: MoGe2Net, config: dict, uri: str) -> str:
    """Write ``net`` as an official ``model.pt`` (atomically)."""
    from hispatial_assets.storage import io

    buf = _io.BytesIO()
    state = {k: v.detach().cpu().contiguous() for k, v in native_to_official(net.state_dict()).items()}
    torch.save({"model_config": copy.deepcopy(config), "model": state}, buf)
    return io.write_bytes(uri, buf.getvalue())


# ---------------------------------------------------------------------------------------------- inference

def _nearest_sample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, H, W, C) -> (B, h, w, C) by nearest-neighbour sampling."""
    return F.interpolate(x.permute(0, 3, 1, 2), size, mode="nearest").permute(0, 2, 3, 1)


# Focal lengths (relative to half the image diagonal) a camera can have: diagonal fields of view of
# about 2 to 178 degrees. Outside, the joint fit has run off (points with no perspective cue, where the
# cost keeps falling as the shift grows) and the shift is fitted for the nearest plausible focal instead.
FOCAL_RANGE = (0.0175, 57.3)


def recover_focal_shift(points: torch.Tensor, mask: torch.Tensor | None = None, focal: torch.Tensor | None = None,
                        sample_size: tuple[int, int] = (64, 64)) -> tuple[torch.Tensor, torch.Tensor]:
    """The focal length and z-shift that make affine-invariant points a centered pinhole projection.

    Minimizes ``sum |f * xy / (z + s) - uv|^2`` over the valid points of a nearest-neighbour sample
    (``uv`` = `view_plane_uv` of each pixel), the least-squares problem MoGe solves. For a given shift
    the focal has a closed form, so the fit is a one-dimensional Levenberg-Marquardt on the shift,
    batched over images. With ``focal`` given only the shift is fitted.

    points (B, H, W, 3); mask (B, H, W) bool; focal (B,) -> focal (B,) relative to half the image
    diagonal, shift (B,). Fewer than two valid points, or a fit that runs off: focal 1, shift 0.
    """
    b, h, w, _ = points.shape
    dtype = torch.float64
    p = _nearest_sample(points.to(dtype), sample_size).reshape(b, -1, 3)
    uv = _nearest_sample(view_plane_uv(w, h, dtype=dtype, device=points.device)[None], sample_size).reshape(1, -1, 2)
    weight = torch.isfinite(p).all(dim=-1)
    if mask is not None:
        weight &= _nearest_sample(mask.to(dtype)[..., None], sample_size).reshape(b, -1) > 0
    p = torch.where(weight[..., None], p, torch.ones_like(p))
    weight = weight.to(dtype)
    fit = _FocalShiftFit(p[..., :2], p[..., 2], uv, weight)
    if focal is None:
        f, shift = fit.solve()
        lo, hi = FOCAL_RANGE
        off = ~torch.isfinite(f) | (f < lo) | (f > hi)
        if bool(off.any()):
            clamped = torch.where(torch.isfinite(f), f.clamp(lo, hi), torch.ones_like(f))
            f2, shift2 = fit.solve(clamped)
            f, shift = torch.where(off, f2, f), torch.where(off, shift2, shift)
    else:
        f, shift = fit.solve(focal.to(device=points.device, dtype=dtype).reshape(b))
    # a shift a thousand times the points' own depth means the fit ran off to points at infinity
    reach = torch.where(weight > 0, p[..., 2].abs(), torch.zeros_like(weight)).amax(dim=1)
    usable = (weight.sum(dim=1) >= 2) & torch.isfinite(f) & (shift.abs() <= 1e3 * reach.clamp_min(1e-6))
    f = torch.where(usable, f, torch.ones_like(f))
    shift = torch.where(usable, shift, torch.zeros_like(shift))
    return f.to(points.dtype), shift.to(points.dtype)


class _FocalShiftFit:
    """``min over s (and f) of sum w |f * xy / (z + s) - uv|^2`` for a batch of sampled point sets."""

    def __init__(self, xy: torch.Tensor, z: torch.Tensor, uv: torch.Tensor, weight: torch.Tensor):
        self.xy, self.z, self.uv, self.w = xy, z, uv, weight[..., None]

    def _evaluate(self, shift: torch.Tensor, focal: torch.Tensor | None):
        """Residuals (B, N, 2), their derivative in the shift, cost (B,) and focal (B,) at ``shift``."""
        depth = torch.where(self.w[..., 0] > 0, self.z + shift[:, None], torch.ones_like(self.z))[..., None]
        proj = self.xy / depth
        dproj = -proj / depth
        if focal is None:  # the best focal for this shift, and how it moves with the shift
            a = (self.w * proj * self.uv).sum(dim=(1, 2))
            b = (self.w * proj * proj).sum(dim=(1, 2)).clamp_min(1e-300)
            da = (self.w * dproj * self.uv).sum(dim=(1, 2))
            db = 2 * (self.w * proj * dproj).sum(dim=(1, 2))
            f, df = a / b, (da * b - a * db) / (b * b)
        else:
            f, df = focal, torch.zeros_like(focal)
        r = f[:, None, None] * proj - self.uv
        jac = df[:, None, None] * proj + f[:, None, None] * dproj
        return r, jac, (self.w * r * r).sum(dim=(1, 2)), f

    def _feasible(self, shift: torch.Tensor) -> torch.Tensor:
        """Every weighted point stays in front of the camera."""
        z = torch.where(self.w[..., 0] > 0, self.z + shift[:, None], torch.ones_like(self.z))
        return (z > 1e-12).all(dim=1)

    def solve(self, focal: torch.Tensor | None = None, iterations: int = 100) -> tuple[torch.Tensor, torch.Tensor]:
        # start at no shift, or just far enough that every point is in front of the camera
        used = self.w[..., 0] > 0
        near = torch.where(used, self.z, torch.full_like(self.z, torch.inf)).amin(dim=1)
        far = torch.where(used, self.z, torch.full_like(self.z, -torch.inf)).amax(dim=1)
        lift = -near + 1e-3 * (far - near).clamp_min(1e-6)
        shift = torch.where(torch.isfinite(lift), lift.clamp_min(0.0), torch.zeros_like(lift))
        damping = torch.full_like(shift, 1e-3)
        r, jac, cost, f = self._evaluate(shift, focal)
        for _ in range(iterations):
            grad = (self.w * jac * r).sum(dim=(1, 2))
            hess = (self.w * jac * jac).sum(dim=(1, 2)).clamp_min(1e-300)
            step = -grad / (hess * (1 + damping))
            candidate = shift + step
            ok = self._feasible(candidate)
            r2, jac2, cost2, f2 = self._evaluate(torch.where(ok, candidate, shift), focal)
            better = ok & (cost2 <= cost)
            shift = torch.where(better, candidate, shift)
            r, jac = torch.where(better[:, None, None], r2, r), torch.where(better[:, None, None], jac2, jac)
            cost, f = torch.where(better, cost2, cost), torch.where(better, f2, f)
            damping = torch.where(better, damping / 10, damping * 10).clamp(1e-12, 1e12)
            if bool(((step.abs() <= 1e-12 * (1 + shift.abs())) | (damping >= 1e12)).all()):
                break
        return f, shift


def focal_from_fov_x(fov_x_deg: float | torch.Tensor, aspect_ratio: float) -> torch.Tensor:
    """Focal length relative to half the image diagonal, from the horizontal field of view."""
    fov = torch.deg2rad(torch.as_tensor(fov_x_deg, dtype=torch.float64))
    return aspect_ratio / (1 + aspect_ratio ** 2) ** 0.5 / torch.tan(fov / 2)


def postprocess(raw: dict[str, torch.Tensor], fov_x_deg: float | None = None) -> dict[str, torch.Tensor]:
    """The network's raw outputs -> metric camera-space outputs, as MoGe-2's ``infer`` computes them.

    Returns depth (B, H, W) metric z (0 where invalid), mask (B, H, W) bool, intrinsics (B, 3, 3)
    normalized (fx, cx in image widths, fy, cy in image heights), and normal when predicted.
    """
    points = raw["points"].float()
    b, h, w, _ = points.shape
    aspect = w / h
    mask = raw["mask"].float() > 0.5 if "mask" in raw else torch.ones((b, h, w), dtype=torch.bool, device=points.device)
    if fov_x_deg is None:
        focal, shift = recover_focal_shift(points, mask)
    else:
        known = focal_from_fov_x(fov_x_deg, aspect).to(points.device).expand(b)
        focal, shift = recover_focal_shift(points, mask, focal=known)
    diag = (1 + aspect ** 2) ** 0.5
    fx, fy = focal.double() / 2 * diag / aspect, focal.double() / 2 * diag
    intrinsics = torch.zeros((b, 3, 3), dtype=torch.float64, device=points.device)
    intrinsics[:, 0, 0], intrinsics[:, 1, 1] = fx, fy
    intrinsics[:, 0, 2] = intrinsics[:, 1, 2] = 0.5
    intrinsics[:, 2, 2] = 1.0
    depth = points[..., 2] + shift.float()[:, None, None]
    mask = mask & (depth > 0) & torch.isfinite(points).all(dim=-1)
    if "metric_scale" in raw:
        depth = depth * raw["metric_scale"].float()[:, None, None]
    out = {"depth": torch.where(mask, depth, torch.zeros_like(depth)), "mask": mask, "intrinsics": intrinsics}
    if "normal" in raw:
        out["normal"] = torch.where(mask[..., None], raw["normal"].float(), torch.zeros_like(raw["normal"].float()))
    return out


def point_maps(processed: dict[str, torch.Tensor]) -> list[PointMap]:
    """Each image's depth lifted through its recovered intrinsics (pixel units) as a `PointMap`."""
    depth = processed["depth"].cpu().numpy()
    intrinsics = processed["intrinsics"].cpu().numpy()
    _, h, w = depth.shape
    scale = np.array([[w], [h], [1.0]])
    return [unproject(d, K * scale) for d, K in zip(depth, intrinsics)]


def infer(net: MoGe2Net, images: torch.Tensor, num_tokens: int | None = None, resolution_level: int = 9,
          fov_x_deg: float | None = None) -> list[PointMap]:
    """images (B, 3, H, W) RGB in [0, 1] -> one metric `PointMap` per image. Half precision (autocast)
    on CUDA, float32 elsewhere; post-processing always in float32/float64."""
    device = next(net.parameters()).device
    images = images.to(device=device, dtype=torch.float32)
    tokens = num_tokens if num_tokens is not None else net.num_tokens(resolution_level)
    with torch.inference_mode(), torch.autocast(device_type=device.type, dtype=torch.float16,
                                                enabled=device.type == "cuda"):
        raw = net(images, tokens)
    with torch.inference_mode():
        return point_maps(postprocess({k: v.float() for k, v in raw.items()}, fov_x_deg))
