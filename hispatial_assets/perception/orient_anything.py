"""`orient_anything` orientation backend: Orient Anything (DINOv2 + MLP head) on object crops, local only.

The model looks at one object crop and predicts distributions over the azimuth (360 one-degree bins),
polar and in-plane rotation angles, plus a 2-way "has an orientation" confidence. Only the azimuth is
used: it is relative to the viewing direction, so the object's position turns it into a front yaw in
the gravity frame (`front_yaw_from_azimuth`).

Azimuth convention (``azimuth_sign`` = +1, the default): φ is the angle from the object's front to the
direction from the object toward the camera, counter-clockwise seen from above. φ = 0 means the object
faces the camera; φ = 180° means the camera sees its back. ``azimuth_sign`` = -1 reads φ clockwise.
Then ``front_yaw = ray_yaw + π − sign·φ`` where ``ray_yaw`` is the yaw of the camera→object ray
(gravity frame, `geometry` conventions: straight ahead = +90°).

Expected local layout (written by `OrientAnythingNet.save_pretrained`)::

    <path>/config.json                {"model_type": "orient_anything", "backbone_config": {<Dinov2Config>},
                                       "azimuth_bins": 360, "polar_bins": 180, "rotation_bins": 180,
                                       "confidence_bins": 2, "azimuth_sign": 1}
    <path>/model.safetensors          the official DINOv2_MLP state dict: ``dinov2.*`` (HF Dinov2Model
                                       names) and ``down_sampler.net{1,2}.{0,1}.*`` (Linear + BatchNorm1d)
    <path>/preprocessor_config.json   DINOv2 image processing (e.g. facebook/dinov2-large's)

The official ``croplargeEX2/dino_weight.pt`` converts with
``safetensors.torch.save_file(torch.load(pt, weights_only=True), "model.safetensors")`` next to a
config.json whose backbone_config is facebook/dinov2-large's config.json; a ``*.pt`` file in the
directory is also read directly when no model.safetensors exists.
"""

from __future__ import annotations

import functools
import glob
import json
import os
from typing import Any

import numpy as np
import polars as pl
from PIL import Image

from hispatial_assets.geometry.frames import wrap_angle
from hispatial_assets.perception.base import (Detections, ImageRef, checkpoint_fingerprint, config_setting,
                                              require_checkpoint)
from hispatial_assets.perception.grounding import resolve_device

DEFAULT_HEAD = {"azimuth_bins": 360, "polar_bins": 180, "rotation_bins": 180, "confidence_bins": 2, "azimuth_sign": 1}


def front_yaw_from_azimuth(azimuth_rad: np.ndarray, center_x: np.ndarray, center_y: np.ndarray,
                           azimuth_sign: int = 1) -> np.ndarray:
    """Front yaw (gravity frame, radians in [-π, π)) from the viewing-relative azimuth and the object's
    gravity-frame horizontal position (camera at the origin)."""
    ray_yaw = np.arctan2(np.asarray(center_y, np.float64), np.asarray(center_x, np.float64))
    return wrap_angle(ray_yaw + np.pi - azimuth_sign * np.asarray(azimuth_rad, np.float64))


def square_crop(rgb: np.ndarray, box: np.ndarray, mask: np.ndarray | None = None, margin: float = 0.1,
                fill: int = 255) -> np.ndarray:
    """The box grown by ``margin`` on each side, padded to a square with ``fill``; pixels outside
    ``mask`` (if given) are set to ``fill`` too."""
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = [float(v) for v in box]
    side = max(x1 - x0, y1 - y0, 1.0) * (1 + 2 * margin)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    X0, Y0 = int(np.floor(cx - side / 2)), int(np.floor(cy - side / 2))
    n = int(np.ceil(side))
    out = np.full((n, n, 3), fill, np.uint8)
    sx0, sy0, sx1, sy1 = max(X0, 0), max(Y0, 0), min(X0 + n, w), min(Y0 + n, h)
    if sx1 > sx0 and sy1 > sy0:
        patch = rgb[sy0:sy1, sx0:sx1].copy()
        if mask is not None:
            patch[~mask[sy0:sy1, sx0:sx1]] = fill
        out[sy0 - Y0: sy1 - Y0, sx0 - X0: sx1 - X0] = patch
    return out


@functools.cache
def _net_class() -> type:
    import torch
    from torch import nn

    class OrientAnythingNet(nn.Module):
        """DINOv2 backbone, CLS token -> MLP head (Linear-BN-ReLU, Linear-BN) -> angle-bin logits."""

        def __init__(self, config: dict):
            super().__init__()
            from transformers import Dinov2Config, Dinov2Model

            self.config = {**DEFAULT_HEAD, **config}
            backbone = dict(self.config["backbone_config"])
            backbone.pop("model_type", None)
            self.dinov2 = Dinov2Model(Dinov2Config(**backbone))
            d_in = self.dinov2.config.hidden_size
            d_out = sum(self.config[k] for k in ("azimuth_bins", "polar_bins", "rotation_bins", "confidence_bins"))
            self.down_sampler = nn.Module()
            self.down_sampler.net1 = nn.Sequential(nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), nn.ReLU())
            self.down_sampler.net2 = nn.Sequential(nn.Linear(d_out, d_out), nn.BatchNorm1d(d_out))

        @classmethod
        def from_config(cls, config: dict) -> "OrientAnythingNet":
            return cls(config)

        @classmethod
        def from_pretrained(cls, path: str) -> "OrientAnythingNet":
            with open(os.path.join(path, "config.json")) as f:
                net = cls(json.load(f))
            weights = os.path.join(path, "model.safetensors")
            if os.path.isfile(weights):
                from safetensors.torch import load_file

                state = load_file(weights)
            else:
                pts = sorted(glob.glob(os.path.join(path, "*.pt")) + glob.glob(os.path.join(path, "*.pth")))
                if not pts:
                    raise FileNotFoundError(f"no model.safetensors or *.pt weights in {path}")
                state = torch.load(pts[0], map_location="cpu", weights_only=True)
            net.load_state_dict(state, strict=True)
            return net.eval()

        def save_pretrained(self, path: str, image_size: int = 224) -> None:
            from safetensors.torch import save_file
            from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil

            os.makedirs(path, exist_ok=True)
            config = {**self.config, "model_type": "orient_anything",
                      "backbone_config": self.dinov2.config.to_dict()}
            with open(os.path.join(path, "config.json"), "w") as f:
                json.dump(config, f, indent=1, default=str)
            save_file({k: v.contiguous() for k, v in self.state_dict().items()}, os.path.join(path, "model.safetensors"))
            BitImageProcessorPil(size={"shortest_edge": image_size}, crop_size={"height": image_size, "width": image_size},
                                 do_convert_rgb=True).save_pretrained(path)

        def forward(self, pixel_values: torch.Tensor) -> torch.Tensor:
            cls_token = self.dinov2(pixel_values=pixel_values).last_hidden_state[:, 0]
            return self.down_sampler.net2(self.down_sampler.net1(cls_token))

        def split(self, logits: torch.Tensor) -> dict[str, torch.Tensor]:
            """Logits -> {"azimuth", "polar", "rotation", "confidence"} slices, in the official order."""
            out, start = {}, 0
            for key in ("azimuth", "polar", "rotation", "confidence"):
                n = self.config[f"{key}_bins"]
                out[key] = logits[:, start: start + n]
                start += n
            return out

    return OrientAnythingNet


def __getattr__(name: str) -> Any:  # `OrientAnythingNet` is built on first use so importing this is torch-free
    if name == "OrientAnythingNet":
        return _net_class()
    raise AttributeError(name)


class OrientAnythingOrientation:
    """`OrientationBackend` ``orient_anything``: per detection, crop -> azimuth -> gravity-frame front yaw.

    ``boxes`` rows align with the detections and carry the gravity-frame ``center_x``/``center_y``.
    Objects whose confidence is below ``min_confidence`` (or without a finite center) get NaN.
    """

    name = "orient_anything"
    version = "1"
    setting = config_setting("orientation", "path")

    def __init__(self, path: str, min_confidence: float = 0.5, margin: float = 0.1, mask_background: bool = True,
                 batch_size: int = 16, device: str = "cpu"):
        self.path = require_checkpoint(path, self.setting)
        self.min_confidence, self.margin, self.mask_background = min_confidence, margin, mask_background
        self.batch_size, self.device = batch_size, resolve_device(device)
        self._net: Any = None
        self._processor: Any = None

    def settings(self) -> dict:
        return {"min_confidence": self.min_confidence, "margin": self.margin,
                "mask_background": self.mask_background, "checkpoint": checkpoint_fingerprint(self.path)}

    @property
    def net(self) -> Any:
        if self._net is None:
            self._net = _net_class().from_pretrained(self.path).to(self.device).eval()
        return self._net

    @property
    def processor(self) -> Any:
        if self._processor is None:
            from transformers import AutoImageProcessor

            self._processor = AutoImageProcessor.from_pretrained(self.path, local_files_only=True)
        return self._processor

    def predict_crops(self, crops: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Azimuth (radians, the argmax bin) and confidence in [0, 1] per crop."""
        import torch

        if not crops:
            return np.zeros(0), np.zeros(0, np.float32)
        azimuth, confidence = [], []
        net = self.net
        for s in range(0, len(crops), self.batch_size):
            images = [Image.fromarray(c) for c in crops[s: s + self.batch_size]]
            pixel_values = self.processor(images=images, return_tensors="pt")["pixel_values"].to(self.device)
            with torch.no_grad():
                parts = net.split(net(pixel_values).float())
            az = parts["azimuth"].softmax(-1)
            bins = az.shape[-1]
            azimuth.append(az.argmax(-1).cpu().numpy() * (2 * np.pi / bins))
            if parts["confidence"].shape[-1] >= 2:  # official head: softmax over (has orientation, none)
                confidence.append(parts["confidence"].softmax(-1)[:, 0].cpu().numpy())
            else:
                confidence.append(az.max(-1).values.cpu().numpy())
        return np.concatenate(azimuth), np.concatenate(confidence).astype(np.float32)

    def estimate_rgb(self, rgb: np.ndarray, detections: Detections, boxes: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        n = len(detections)
        if len(boxes) != n:
            raise ValueError(f"orient_anything needs one boxes row per detection ({len(boxes)} rows, {n} detections)")
        masks = detections.masks if self.mask_background else [None] * n
        crops = [square_crop(rgb, detections.boxes[i], masks[i], self.margin) for i in range(n)]
        azimuth, confidence = self.predict_crops(crops)
        cx = boxes["center_x"].cast(pl.Float64).fill_null(np.nan).to_numpy() if n else np.zeros(0)
        cy = boxes["center_y"].cast(pl.Float64).fill_null(np.nan).to_numpy() if n else np.zeros(0)
        sign = int(self.net.config.get("azimuth_sign", 1)) if n else 1
        yaw = front_yaw_from_azimuth(azimuth, cx, cy, sign)
        unknown = ~np.isfinite(cx) | ~np.isfinite(cy) | (confidence < self.min_confidence)
        return np.where(unknown, np.nan, yaw).astype(np.float64), confidence

    def estimate(self, image: ImageRef, detections: Detections, boxes: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        return self.estimate_rgb(image.rgb(), detections, boxes)
