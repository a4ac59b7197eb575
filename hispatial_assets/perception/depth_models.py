"""Monocular point-map backends on local checkpoints: ``depth_anything``, ``depth_pro`` (transformers), ``moge``.

Each turns one RGB image into a metric `PointMap` in the OpenCV camera frame at the image's own size.
Depth models predict z-depth; intrinsics come from the model's own focal estimate where it has one
(DepthPro's FOV head, MoGe's intrinsics), else from the configured horizontal ``fov_deg``; the depth
is then lifted with `geometry.camera.unproject`. Nothing is ever downloaded.

Expected local layouts::

    depth_anything  <path>/config.json (DepthAnythingConfig, depth_estimation_type "metric"),
                    model.safetensors, preprocessor_config.json (DPT image processor) -- e.g. a snapshot
                    of depth-anything/Depth-Anything-V2-Metric-Indoor-Small-hf. Relative-depth
                    checkpoints are refused: their output is not metric.
    depth_pro       <path>/config.json (DepthProConfig), model.safetensors, optional
                    preprocessor_config.json (size, image_mean, image_std) -- e.g. a snapshot of
                    apple/DepthPro-hf. Preprocessing is done here (resize, rescale, normalize) because
                    transformers' DepthPro image processor needs torchvision.
    moge            <path> an official MoGe-2 checkpoint file (e.g. a snapshot of Ruicheng/moge-2-vitl-normal:
                    model.pt, a dict of model_config and state dict) or the folder holding it. The native
                    implementation (`moge2`) needs nothing more; ``implementation: package`` runs the
                    ``moge`` package instead (``pip install 'hispatial-assets[moge]'``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
from PIL import Image

from hispatial_assets.geometry.camera import PointMap, intrinsics_from_fov, unproject
from hispatial_assets.perception.base import ImageRef, checkpoint_fingerprint, config_setting, require_checkpoint
from hispatial_assets.perception.grounding import resolve_device


def focal_from_fov(width: int, fov_deg: float) -> float:
    """Focal length in pixels of a horizontal field of view."""
    return float(0.5 * width / np.tan(np.deg2rad(fov_deg) / 2.0))


def intrinsics_from_focal(width: int, height: int, focal_px: float) -> np.ndarray:
    return np.array([[focal_px, 0.0, width / 2.0], [0.0, focal_px, height / 2.0], [0.0, 0.0, 1.0]])


class _TransformersDepth:
    """Shared loading for transformers depth models: lazy, local-only, one image at a time."""

    name = "?"
    version = "1"
    setting = config_setting("point_maps", "path")

    def __init__(self, path: str, fov_deg: float = 60.0, device: str = "cpu"):
        self.path = require_checkpoint(path, self.setting)
        self.fov_deg, self.device = float(fov_deg), resolve_device(device)
        self._model: Any = None

    def settings(self) -> dict:
        return {"fov_deg": self.fov_deg, "checkpoint": checkpoint_fingerprint(self.path)}

    @property
    def model(self) -> Any:
        if self._model is None:
            from transformers import AutoModelForDepthEstimation

            model = AutoModelForDepthEstimation.from_pretrained(self.path, local_files_only=True)
            self._check(model.config)
            self._model = model.to(self.device).eval()
        return self._model

    def _check(self, config: Any) -> None:
        pass

    def depth_and_focal(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        """Metric z-depth (H, W) at the image size and the focal length in pixels."""
        raise NotImplementedError

    def estimate_rgb(self, rgb: np.ndarray) -> PointMap:
        h, w = rgb.shape[:2]
        depth, focal = self.depth_and_focal(rgb)
        if depth.shape != (h, w):
            raise ValueError(f"{self.name} returned depth {depth.shape} for a {w}x{h} image")
        return unproject(depth.astype(np.float32), intrinsics_from_focal(w, h, focal))

    def estimate(self, image: ImageRef) -> PointMap:
        return self.estimate_rgb(image.rgb())


class DepthAnythingPointMaps(_TransformersDepth):
    """``depth_anything``: a metric Depth Anything (V2) checkpoint; intrinsics from ``fov_deg``."""

    name = "depth_anything"
    setting = config_setting("point_maps", "path")

    def __init__(self, path: str, fov_deg: float = 60.0, device: str = "cpu"):
        super().__init__(path, fov_deg, device)
        self._processor: Any = None

    def _check(self, config: Any) -> None:
        if getattr(config, "depth_estimation_type", "relative") != "metric":
            raise ValueError(f"{self.path} is a relative-depth Depth Anything checkpoint; point maps need a "
                             f"metric one (depth_estimation_type 'metric', e.g. Depth-Anything-V2-Metric-*)")

    @property
    def processor(self) -> Any:
        if self._processor is None:
            from transformers import AutoImageProcessor

            self._processor = AutoImageProcessor.from_pretrained(self.path, local_files_only=True)
        return self._processor

    def depth_and_focal(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        import torch

        h, w = rgb.shape[:2]
        model = self.model
        inputs = self.processor(images=Image.fromarray(np.asarray(rgb, np.uint8)), return_tensors="pt").to(self.device)
        with torch.no_grad():
            outputs = model(**inputs)
        depth = self.processor.post_process_depth_estimation(outputs, target_sizes=[(h, w)])[0]["predicted_depth"]
        return depth.float().cpu().numpy().reshape(h, w), focal_from_fov(w, self.fov_deg)


class DepthProPointMaps(_TransformersDepth):
    """``depth_pro``: Apple DepthPro; the focal length comes from its FOV head when the checkpoint has one,
    else from ``fov_deg``."""

    name = "depth_pro"
    setting = config_setting("point_maps", "path")

    def _preprocessing(self) -> dict:
        cfg: dict = {}
        f = os.path.join(self.path, "preprocessor_config.json")
        if os.path.isfile(f):
            with open(f) as fh:
                cfg = json.load(fh)
        config = self.model.config
        side = int(round(config.patch_size / min(config.scaled_images_ratios)))
        size = cfg.get("size", {"height": side, "width": side})
        return {"size": (int(size["height"]), int(size["width"])),
                "scale": float(cfg.get("rescale_factor", 1 / 255)) if cfg.get("do_rescale", True) else 1.0,
                "mean": np.asarray(cfg.get("image_mean", [0.5] * 3), np.float32) if cfg.get("do_normalize", True) else np.zeros(3, np.float32),
                "std": np.asarray(cfg.get("image_std", [0.5] * 3), np.float32) if cfg.get("do_normalize", True) else np.ones(3, np.float32)}

    def pixel_values(self, rgb: np.ndarray) -> Any:
        import torch

        p = self._preprocessing()
        resized = Image.fromarray(np.asarray(rgb, np.uint8)).resize(p["size"][::-1], Image.BILINEAR)
        x = (np.asarray(resized, np.float32) * p["scale"] - p["mean"]) / p["std"]
        return torch.from_numpy(x.transpose(2, 0, 1)[None].copy()).to(self.device)

    def depth_and_focal(self, rgb: np.ndarray) -> tuple[np.ndarray, float]:
        import torch

        h, w = rgb.shape[:2]
        model = self.model
        with torch.no_grad():
            outputs = model(pixel_values=self.pixel_values(rgb))
        fov = outputs.field_of_view
        fov_deg = float(fov.reshape(-1)[0]) if fov is not None else self.fov_deg
        if not np.isfinite(fov_deg) or not 1.0 < fov_deg < 179.0:
            fov_deg = self.fov_deg
        focal = focal_from_fov(w, fov_deg)
        # DepthPro predicts canonical inverse depth; metric depth = focal / (width * canonical inverse depth)
        inverse = outputs.predicted_depth.float()[:1, None] * (w / focal)
        inverse = torch.nn.functional.interpolate(inverse, size=(h, w), mode="bilinear", align_corners=False)[0, 0]
        depth = 1.0 / torch.clamp(inverse, min=1e-4, max=1e4)
        return depth.cpu().numpy(), focal


class MogePointMaps:
    """``moge``: MoGe-2 metric point maps from an official checkpoint file.

    ``implementation="native"`` (the default) runs `moge2`, this project's own MoGe-2 (torch and
    transformers only), batched over same-size images, in half precision on CUDA; ``"package"`` runs the
    ``moge`` package (the ``[moge]`` extra), one image at a time. Both return the same `PointMap`: the
    model's points, validity mask and recovered intrinsics; ``fov_deg``, if set, is the known
    horizontal field of view (only the z-shift is then recovered).
    """

    name = "moge"
    version = "2"
    setting = config_setting("point_maps", "path")

    def __init__(self, path: str, implementation: str = "native", model_version: str = "v2",
                 fov_deg: float | None = None, resolution_level: int = 9, num_tokens: int | None = None,
                 batch_size: int = 4, device: str = "cpu"):
        if implementation not in ("native", "package"):
            raise ValueError(f"point_maps.moge.implementation must be 'native' or 'package', not {implementation!r}")
        if implementation == "native" and model_version != "v2":
            raise ValueError(f"the native MoGe is MoGe-2 only; model_version {model_version!r} needs "
                             f"implementation 'package'")
        self.path = require_checkpoint(path, self.setting)
        self.implementation, self.model_version = implementation, model_version
        self.fov_deg, self.resolution_level, self.num_tokens = fov_deg, int(resolution_level), num_tokens
        self.batch_size, self.device = max(1, int(batch_size)), resolve_device(device)
        self._model: Any = None

    def settings(self) -> dict:
        return {"implementation": self.implementation, "model_version": self.model_version, "fov_deg": self.fov_deg,
                "resolution_level": self.resolution_level, "num_tokens": self.num_tokens,
                "checkpoint": checkpoint_fingerprint(self.path)}

    @property
    def model(self) -> Any:
        if self._model is None:
            if self.implementation == "native":
                from hispatial_assets.perception import moge2

                self._model = moge2.load_checkpoint(self.path, self.device)
            else:
                from hispatial_assets.perception.moge2 import checkpoint_file

                self._model = _moge_package_model(self.model_version, checkpoint_file(self.path))
                self._model = self._model.to(self.device).eval()
        return self._model

    def estimate_rgbs(self, rgbs: list[np.ndarray]) -> list[PointMap]:
        """One point map per RGB image; the native network runs same-size images together."""
        if self.implementation == "package":
            return [self._package_estimate(rgb) for rgb in rgbs]
        import torch

        from hispatial_assets.perception import moge2

        out: list[PointMap | None] = [None] * len(rgbs)
        by_size: dict[tuple[int, int], list[int]] = {}
        for i, rgb in enumerate(rgbs):
            by_size.setdefault(tuple(rgb.shape[:2]), []).append(i)
        for members in by_size.values():
            for s in range(0, len(members), self.batch_size):
                idx = members[s: s + self.batch_size]
                x = torch.from_numpy(np.stack([np.asarray(rgbs[i], np.float32) for i in idx]).transpose(0, 3, 1, 2) / 255.0)
                maps = moge2.infer(self.model, x, num_tokens=self.num_tokens, resolution_level=self.resolution_level,
                                   fov_x_deg=self.fov_deg)
                for i, pm in zip(idx, maps):
                    out[i] = pm
        return [pm for pm in out if pm is not None]

    def estimate_rgb(self, rgb: np.ndarray) -> PointMap:
        return self.estimate_rgbs([rgb])[0]

    def estimate(self, image: ImageRef) -> PointMap:
        return self.estimate_rgb(image.rgb())

    def estimate_batch(self, images: list[ImageRef]) -> list[PointMap]:
        return self.estimate_rgbs([image.rgb() for image in images])

    def _package_estimate(self, rgb: np.ndarray) -> PointMap:
        import torch

        h, w = rgb.shape[:2]
        x = torch.from_numpy(np.asarray(rgb, np.float32).transpose(2, 0, 1) / 255.0).to(self.device)
        kwargs: dict[str, Any] = {"resolution_level": self.resolution_level}
        if self.num_tokens is not None:
            kwargs["num_tokens"] = int(self.num_tokens)
        if self.fov_deg is not None:
            kwargs["fov_x"] = float(self.fov_deg)
        with torch.no_grad():
            out = self.model.infer(x, **kwargs)
        points = _numpy(out["points"]).reshape(h, w, 3)
        mask = _numpy(out["mask"]).reshape(h, w) > 0.5 if "mask" in out else np.ones((h, w), bool)
        mask &= np.isfinite(points).all(axis=-1) & (points[..., 2] > 0)
        if "intrinsics" in out:  # normalized: fx, cx in image widths, fy, cy in image heights
            K = _numpy(out["intrinsics"]).reshape(3, 3).astype(np.float64) * np.array([[w], [h], [1.0]])
        else:
            K = intrinsics_from_fov(w, h, self.fov_deg or 60.0)
        xyz = np.where(mask[..., None], points, 0.0).astype(np.float32)
        return PointMap(xyz=xyz, mask=mask, intrinsics=K.astype(np.float32))


def _moge_package_model(model_version: str, path: str) -> Any:
    import importlib

    try:
        module = importlib.import_module(f"moge.model.{model_version}")
    except ImportError as e:
        raise ImportError("point_maps.moge.implementation 'package' needs the `moge` package: "
                          "pip install 'hispatial-assets[moge]' (or implementation 'native')") from e
    return module.MoGeModel.from_pretrained(path)


def _numpy(x: Any) -> np.ndarray:
    return x.detach().float().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
