"""Point-map backends on tiny random-init DepthAnything / DepthPro / MoGe-2 checkpoints, and the
adapter of the `moge` package."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest

from hispatial_assets.geometry.camera import intrinsics_from_fov
from hispatial_assets.perception.base import CheckpointNotFound
from hispatial_assets.perception.depth_models import (DepthAnythingPointMaps, DepthProPointMaps, MogePointMaps,
                                                      focal_from_fov)

from . import tiny_models


def _assert_lifted_with(pm, K):
    """Every valid point lies on the ray of its own pixel through intrinsics K."""
    h, w = pm.shape
    z = pm.xyz[..., 2]
    u = (np.arange(w) + 0.5 - K[0, 2]) / K[0, 0]
    v = (np.arange(h) + 0.5 - K[1, 2]) / K[1, 1]
    np.testing.assert_allclose(pm.xyz[..., 0][pm.mask], (u[None, :] * z)[pm.mask], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(pm.xyz[..., 1][pm.mask], (v[:, None] * z)[pm.mask], rtol=1e-4, atol=1e-5)


def test_depth_anything_point_map_has_the_image_size_and_configured_fov(checkpoints, image_512x384):
    pm = DepthAnythingPointMaps(checkpoints("depth_anything"), fov_deg=70.0).estimate(image_512x384)
    assert pm.shape == (384, 512) and pm.xyz.shape == (384, 512, 3)
    assert pm.mask.mean() > 0.99 and np.isfinite(pm.xyz).all()
    assert np.all(pm.xyz[..., 2][pm.mask] > 0)
    np.testing.assert_allclose(pm.intrinsics, intrinsics_from_fov(512, 384, 70.0), rtol=1e-6)
    _assert_lifted_with(pm, pm.intrinsics)


def _model_depth(backend: DepthAnythingPointMaps, rgb: np.ndarray) -> np.ndarray:
    """The checkpoint's own prediction at its own resolution: processor -> model, nothing after it."""
    import torch
    from PIL import Image

    with torch.no_grad():
        out = backend.model(**backend.processor(images=Image.fromarray(rgb), return_tensors="pt"))
    return out.predicted_depth[0].numpy()


def test_depth_anything_z_is_the_models_prediction_at_its_own_resolution(checkpoints):
    """An image the processor feeds at its own size (70x56, a multiple of 14): nothing is resized, so
    the point map's z must be the prediction itself, pixel for pixel (the tiny head varies 3-19 m)."""
    backend = DepthAnythingPointMaps(checkpoints("depth_anything"), fov_deg=70.0)
    rgb = tiny_models.random_rgb(70, 56)
    predicted = _model_depth(backend, rgb)
    assert predicted.shape == (56, 70) and predicted.std() > 1.0
    np.testing.assert_array_equal(backend.estimate_rgb(rgb).xyz[..., 2], predicted)


def test_depth_anything_z_resized_to_the_image_averages_back_to_the_models_prediction(checkpoints):
    import torch

    backend = DepthAnythingPointMaps(checkpoints("depth_anything"), fov_deg=70.0)
    rgb = tiny_models.random_rgb(512, 384)
    predicted = _model_depth(backend, rgb)
    z = backend.estimate_rgb(rgb).xyz[..., 2]
    pooled = torch.nn.functional.adaptive_avg_pool2d(torch.from_numpy(z)[None, None], predicted.shape)[0, 0].numpy()
    assert np.median(np.abs(pooled - predicted) / predicted) < 0.01
    assert np.corrcoef(pooled.ravel(), predicted.ravel())[0, 1] > 0.99
    assert np.corrcoef(pooled[::-1].ravel(), predicted.ravel())[0, 1] < 0.9  # the comparison sees a flip


def test_relative_depth_anything_checkpoints_are_refused(tmp_path):
    import json

    path = tiny_models.save_depth_anything(tmp_path / "rel")
    cfg = json.loads((tmp_path / "rel" / "config.json").read_text())
    cfg["depth_estimation_type"] = "relative"
    (tmp_path / "rel" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="metric"):
        DepthAnythingPointMaps(path).estimate_rgb(tiny_models.random_rgb(64, 48))


def test_depth_pro_uses_its_own_field_of_view(checkpoints, image_512x384):
    import torch

    backend = DepthProPointMaps(checkpoints("depth_pro"), fov_deg=60.0)
    rgb = image_512x384.rgb()
    with torch.no_grad():
        fov = float(backend.model(pixel_values=backend.pixel_values(rgb)).field_of_view[0])
    pm = backend.estimate(image_512x384)
    assert pm.shape == (384, 512) and np.isfinite(pm.xyz).all() and pm.mask.all()
    assert pm.intrinsics[0, 0] == pytest.approx(focal_from_fov(512, fov), rel=1e-5)
    assert pm.intrinsics[0, 0] != pytest.approx(focal_from_fov(512, 60.0), rel=1e-3)
    _assert_lifted_with(pm, pm.intrinsics)


def test_depth_pro_without_a_fov_head_uses_the_configured_fov(tmp_path):
    path = tiny_models.save_depth_pro(tmp_path / "nofov", use_fov_model=False)
    pm = DepthProPointMaps(path, fov_deg=55.0).estimate_rgb(tiny_models.random_rgb(160, 120))
    assert pm.shape == (120, 160) and np.isfinite(pm.xyz).all()
    np.testing.assert_allclose(pm.intrinsics, intrinsics_from_fov(160, 120, 55.0), rtol=1e-6)


@pytest.mark.parametrize("cls", [DepthAnythingPointMaps, DepthProPointMaps, MogePointMaps])
def test_missing_checkpoint_names_the_setting(tmp_path, cls):
    with pytest.raises(CheckpointNotFound, match=r"stages\.point_maps\.path in \$HISPATIAL_CONFIG"):
        cls(str(tmp_path / "absent"))


def test_the_moge_package_route_without_the_package_says_how_to_install_it(tmp_path, monkeypatch):
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"")
    monkeypatch.setitem(sys.modules, "moge", None)
    with pytest.raises(ImportError, match=r"pip install 'hispatial-assets\[moge\]'"):
        MogePointMaps(str(ckpt), implementation="package").estimate_rgb(np.zeros((4, 6, 3), np.uint8))


def test_native_moge_point_map_is_a_pinhole_lift_at_the_image_size(checkpoints, image_512x384):
    backend = MogePointMaps(checkpoints("moge2"), num_tokens=48)
    pm = backend.estimate(image_512x384)
    assert pm.shape == (384, 512) and pm.xyz.dtype == np.float32 and np.isfinite(pm.xyz).all()
    assert pm.mask.mean() > 0.9 and np.all(pm.xyz[..., 2][pm.mask] > 0) and not pm.xyz[~pm.mask].any()
    K = pm.intrinsics
    assert K[0, 0] == pytest.approx(K[1, 1], rel=1e-6) and (K[0, 2], K[1, 2]) == (256.0, 192.0)
    _assert_lifted_with(pm, K)


def test_native_moge_batches_give_the_same_point_maps_as_single_images(checkpoints, tmp_path):
    images = [tiny_models.write_image(tmp_path, tiny_models.random_rgb(w, h, seed=i), f"i{i}")
              for i, (w, h) in enumerate([(128, 96), (96, 128), (128, 96), (128, 96)])]
    backend = MogePointMaps(checkpoints("moge2"), num_tokens=32, batch_size=2)
    together = backend.estimate_batch(images)
    for image, pm in zip(images, together):
        alone = backend.estimate(image)
        assert pm.shape == (image.height, image.width)
        np.testing.assert_allclose(pm.xyz, alone.xyz, rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(pm.intrinsics, alone.intrinsics, rtol=1e-5)


def test_moge_identity_names_implementation_settings_and_checkpoint(checkpoints, tmp_path):
    from hispatial_assets.perception.base import identity

    native = MogePointMaps(checkpoints("moge2"))
    other = tiny_models.save_moge2(tmp_path / "vitl", size="vitl")
    assert identity(native).startswith("moge@2+")
    assert identity(native) != identity(MogePointMaps(checkpoints("moge2"), implementation="package"))
    assert identity(native) != identity(MogePointMaps(checkpoints("moge2"), resolution_level=5))
    assert identity(native) != identity(MogePointMaps(other))
    assert identity(native) == identity(MogePointMaps(checkpoints("moge2"), batch_size=8))  # same outputs


def test_the_native_moge_is_moge2_only(checkpoints):
    with pytest.raises(ValueError, match="MoGe-2 only"):
        MogePointMaps(checkpoints("moge2"), model_version="v1")
    with pytest.raises(ValueError, match="native' or 'package'"):
        MogePointMaps(checkpoints("moge2"), implementation="onnx")


def test_moge_output_becomes_a_point_map_with_pixel_intrinsics(tmp_path, monkeypatch):
    """A stand-in `moge` package: the adapter scales normalized intrinsics and drops masked points."""
    import torch

    h, w = 48, 64
    K_norm = torch.tensor([[0.8, 0.0, 0.5], [0.0, 0.8 * w / h, 0.5], [0.0, 0.0, 1.0]])
    points = torch.ones(h, w, 3)
    mask = torch.ones(h, w, dtype=torch.bool)
    mask[:, :10] = False
    points[:, :10] = float("inf")
    calls = {}

    class FakeMoGe:
        @classmethod
        def from_pretrained(cls, path):
            calls["path"] = path
            return cls()

        def to(self, device):
            return self

        def eval(self):
            return self

        def infer(self, image, **kwargs):
            calls["shape"], calls["kwargs"] = tuple(image.shape), kwargs
            return {"points": points, "mask": mask, "intrinsics": K_norm, "depth": points[..., 2]}

    v2 = types.ModuleType("moge.model.v2")
    v2.MoGeModel = FakeMoGe
    monkeypatch.setitem(sys.modules, "moge", types.ModuleType("moge"))
    monkeypatch.setitem(sys.modules, "moge.model", types.ModuleType("moge.model"))
    monkeypatch.setitem(sys.modules, "moge.model.v2", v2)
    ckpt = tmp_path / "model.pt"
    ckpt.write_bytes(b"")

    pm = MogePointMaps(str(ckpt), implementation="package", fov_deg=75.0).estimate_rgb(np.zeros((h, w, 3), np.uint8))
    assert calls["path"] == str(ckpt) and calls["shape"] == (3, h, w) and calls["kwargs"]["fov_x"] == 75.0
    np.testing.assert_allclose(pm.intrinsics, [[0.8 * w, 0, w / 2], [0, 0.8 * w, h / 2], [0, 0, 1]], rtol=1e-6)
    assert not pm.mask[:, :10].any() and pm.mask[:, 10:].all()
    assert np.isfinite(pm.xyz).all()
