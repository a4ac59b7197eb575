"""The native MoGe-2: official checkpoint layout, strict loading, the DINOv2 it computes, and the
focal / shift recovery and post-processing against known cameras."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hispatial_assets.geometry.camera import intrinsics_from_fov, unproject
from hispatial_assets.perception import moge2

from . import tiny_models

COMBOS = [(size, normal) for size in ("vits", "vitb", "vitl") for normal in (True, False)]
WIDTHS = {"vits": {"dim": 128}, "vitb": {"dim": 512}, "vitl": {}}  # as in moge2.PUBLISHED

# Key count and sha256 of the sorted "key [shape]" lines of the official network's state dict
# (MoGeModel(**config).state_dict() of microsoft/MoGe's moge/model/v2.py, config = moge2_config(...)).
OFFICIAL_KEYS = {
    ("vits", True): (353, "e1e0523a81f762872ae0062c8e26c83522d990765f5edfc04d13c40bded3be42"),
    ("vits", False): (315, "81a28223e03579c1b0b726f68b81884edb20ccb58d124bc253b19317541bff30"),
    ("vitb", True): (353, "4f8c579a262ff73839eb4d5508fade77552aa3a39331f62eb4e3818772c912e9"),
    ("vitb", False): (315, "56084532a4bdc8894173ca6a58cc4f0ecc1097357590152df41610574e9af10f"),
    ("vitl", True): (521, "cf14560eaaed93c2054361953a7fafe277c5642dc96fa86fc0f427e7c482d97d"),
    ("vitl", False): (483, "b7a2fdf396ba37c314fc4490fcee94bf9391bf52473da92787e6e44acf85808c"),
}
PARAMS = {("vitl", True): 330_901_544, ("vitl", False): 326_209_221}  # the published 331M / 326M


def _manifest(state: dict) -> tuple[int, str]:
    lines = "\n".join(f"{k} {list(v.shape)}" for k, v in sorted(state.items()))
    return len(state), hashlib.sha256(lines.encode()).hexdigest()


@pytest.mark.parametrize("size,normal", COMBOS)
def test_every_published_size_has_the_official_keys_and_loads_them_strictly(size, normal):
    """Full sizes on the meta device: the official key set and shapes, accepted key for key."""
    config = moge2.moge2_config(size, normal, **WIDTHS[size])
    official = moge2.native_to_official(moge2.build(config, "meta").state_dict())
    assert _manifest(official) == OFFICIAL_KEYS[(size, normal)]
    if (size, normal) in PARAMS:
        assert sum(v.numel() for k, v in official.items() if not k.endswith(("image_mean", "image_std"))) == PARAMS[(size, normal)]
    net = moge2.load_state(moge2.build(config, "meta"), {k: torch.empty(v.shape, device="meta") for k, v in official.items()})
    assert all(p.is_meta for p in net.parameters())


@pytest.mark.parametrize("size,normal", COMBOS)
def test_a_random_checkpoint_of_every_size_loads_strictly_and_reproduces_its_network(tmp_path, size, normal):
    net, config = tiny_models.moge2_net(size, normal, seed=1)
    path = moge2.save_checkpoint(net, config, str(tmp_path / "model.pt"))
    saved = torch.load(path, weights_only=True)
    assert set(saved) == {"model_config", "model"}
    assert any(k.endswith("attn.qkv.weight") for k in saved["model"])  # the official backbone names
    loaded = moge2.load_checkpoint(str(tmp_path))  # the folder holding model.pt
    image = torch.rand(2, 3, 60, 80, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        a, b = net(image, 24), loaded(image, 24)
    assert set(a) == set(b) == {"points", "mask", "metric_scale"} | ({"normal"} if normal else set())
    for k in a:
        torch.testing.assert_close(b[k], a[k], rtol=0, atol=0)
    assert a["points"].shape == (2, 60, 80, 3) and a["metric_scale"].shape == (2,)


@pytest.mark.parametrize("damage,message", [
    (lambda s: s.pop("mask_head.output_blocks.4.bias"), "missing mask_head.output_blocks.4.bias"),
    (lambda s: s.__setitem__("extra_head.weight", torch.zeros(1)), "unexpected extra_head.weight"),
    (lambda s: s.__setitem__("encoder.backbone.blocks.0.attn.qkv.weight", torch.zeros(3, 3)), "shape mismatch"),
    (lambda s: s.pop("encoder.backbone.blocks.3.ls2.gamma"), "missing encoder.backbone.encoder.layer.3.layer_scale2"),
])
def test_a_checkpoint_that_does_not_match_its_config_is_refused(tmp_path, damage, message):
    net, config = tiny_models.moge2_net("vits", True)
    path = moge2.save_checkpoint(net, config, str(tmp_path / "model.pt"))
    checkpoint = torch.load(path, weights_only=True)
    damage(checkpoint["model"])
    torch.save(checkpoint, path)
    with pytest.raises(ValueError, match=message):
        moge2.load_checkpoint(path)


def test_a_file_that_is_not_a_moge_checkpoint_is_refused(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "model.pt")
    with pytest.raises(ValueError, match="not a MoGe checkpoint"):
        moge2.load_checkpoint(str(tmp_path / "model.pt"))


def _official_dinov2(state: dict, x: torch.Tensor, rows: int, cols: int, taps: list[int], heads: int) -> list[torch.Tensor]:
    """DINOv2 computed straight from the official weight names: patch conv, class token, the position
    grid resized bicubically by (tokens + 0.1) / side, pre-norm blocks with layer scale, final norm."""
    def p(k):
        return state[f"encoder.backbone.{k}"]

    tokens = F.conv2d(x, p("patch_embed.proj.weight"), p("patch_embed.proj.bias"), stride=14).flatten(2).transpose(1, 2)
    tokens = torch.cat([p("cls_token").expand(len(x), -1, -1), tokens], dim=1)
    pos = p("pos_embed")
    side = int(round((pos.shape[1] - 1) ** 0.5))
    grid = F.interpolate(pos[:, 1:].reshape(1, side, side, -1).permute(0, 3, 1, 2),
                         scale_factor=((rows + 0.1) / side, (cols + 0.1) / side), mode="bicubic")
    tokens = tokens + torch.cat([pos[:, :1], grid.flatten(2).transpose(1, 2)], dim=1)
    d = tokens.shape[-1]
    out = []
    for i in range(max(taps) + 1):
        def b(k):
            return p(f"blocks.{i}.{k}")

        h = F.layer_norm(tokens, (d,), b("norm1.weight"), b("norm1.bias"), 1e-6)
        q, k, v = F.linear(h, b("attn.qkv.weight"), b("attn.qkv.bias")).unflatten(-1, (3, heads, d // heads)).permute(2, 0, 3, 1, 4)
        att = torch.softmax(q @ k.transpose(-1, -2) / (d // heads) ** 0.5, dim=-1) @ v
        tokens = tokens + b("ls1.gamma") * F.linear(att.transpose(1, 2).flatten(2), b("attn.proj.weight"), b("attn.proj.bias"))
        h = F.layer_norm(tokens, (d,), b("norm2.weight"), b("norm2.bias"), 1e-6)
        h = F.linear(F.gelu(F.linear(h, b("mlp.fc1.weight"), b("mlp.fc1.bias"))), b("mlp.fc2.weight"), b("mlp.fc2.bias"))
        tokens = tokens + b("ls2.gamma") * h
        if i in taps:
            out.append(F.layer_norm(tokens, (d,), p("norm.weight"), p("norm.bias"), 1e-6))
    return out


def test_the_encoder_computes_the_official_dinov2_from_official_weights():
    """Every weight randomized (layer scales and positions too), so a swapped q/k/v, layer scale or
    position grid would show."""
    net, config = tiny_models.moge2_net("vits", True, seed=2)
    with torch.no_grad():
        for param in net.parameters():
            param.copy_(torch.randn_like(param) * 0.2)
    official = moge2.native_to_official(net.state_dict())
    rows, cols = 3, 5
    image = torch.rand(1, 3, rows * 14, cols * 14, generator=torch.Generator().manual_seed(3))
    with torch.inference_mode():
        features, cls_token = net.encoder(image, rows, cols)
        x = (image - torch.tensor(moge2.IMAGE_MEAN).view(1, 3, 1, 1)) / torch.tensor(moge2.IMAGE_STD).view(1, 3, 1, 1)
        taps = config["encoder"]["intermediate_layers"]
        tapped = _official_dinov2(official, x, rows, cols, taps, heads=2)
        expected = sum(F.conv2d(t[:, 1:].transpose(1, 2).unflatten(2, (rows, cols)),
                                official[f"encoder.output_projections.{j}.weight"],
                                official[f"encoder.output_projections.{j}.bias"]) for j, t in enumerate(tapped))
    torch.testing.assert_close(features, expected, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(cls_token, tapped[-1][:, 0], rtol=1e-4, atol=1e-5)


def test_the_token_budget_sets_the_grid_and_the_view_plane_spans_the_diagonal():
    net, _ = tiny_models.moge2_net("vits", False)
    seen = {}

    def grid(module, args):
        seen.update(rows=args[1], cols=args[2])
        raise StopIteration  # the grid is all this test needs; skip the heads at 480x640

    net.encoder.register_forward_pre_hook(grid)
    with torch.inference_mode(), pytest.raises(StopIteration):
        net(torch.rand(1, 3, 30, 40), num_tokens=1200)
    assert (seen["rows"], seen["cols"]) == (30, 40)  # 1200 tokens at 4:3
    assert net.num_tokens(0) == 1200 and net.num_tokens(9) == 3600
    uv = moge2.view_plane_uv(4, 3)
    np.testing.assert_allclose(uv[0, 0].numpy(), [-0.8 * 3 / 4, -0.6 * 2 / 3], rtol=1e-6)
    np.testing.assert_allclose(uv[-1, -1].numpy(), [0.8 * 3 / 4, 0.6 * 2 / 3], rtol=1e-6)


def _scene_depth(h: int, w: int) -> np.ndarray:
    """A floor rising away from the camera, a back wall and a box: depth with perspective cues."""
    v, u = np.mgrid[0:h, 0:w].astype(np.float64)
    depth = np.minimum(1.2 * h / np.maximum(v - 0.35 * h, 1.0), 6.0)
    box = (np.abs(u - 0.6 * w) < 0.12 * w) & (np.abs(v - 0.65 * h) < 0.1 * h)
    return np.where(box, 2.5, depth)


def _affine_points(depth: np.ndarray, K: np.ndarray, scale: float, shift: float) -> torch.Tensor:
    """Camera points divided by ``scale`` with z lowered by ``shift``: what MoGe predicts (1, H, W, 3)."""
    xyz = unproject(depth, K).xyz.astype(np.float64) / scale
    xyz[..., 2] -= shift
    return torch.from_numpy(xyz)[None]


def _relative_focal(K: np.ndarray, w: int, h: int) -> float:
    return float(K[0, 0] / (0.5 * np.hypot(w, h)))


@pytest.mark.parametrize("fov_deg,scale,shift", [(60.0, 1.0, 0.5), (45.0, 3.0, 1.2), (90.0, 0.5, -0.2)])
def test_focal_and_shift_are_recovered_from_a_synthetic_point_map(fov_deg, scale, shift):
    """(45, 3, 1.2) puts the nearest points behind the camera before the shift is undone."""
    h, w = 240, 320
    K = intrinsics_from_fov(w, h, fov_deg)
    points = _affine_points(_scene_depth(h, w), K, scale, shift)
    holes = torch.ones((1, h, w), dtype=torch.bool)
    holes[:, :40, :] = False  # the top rows are unknown (sky); their points are garbage
    points[:, :40] = torch.rand(1, 40, w, 3) * 50
    focal, recovered = moge2.recover_focal_shift(points.float(), holes)
    assert float(focal[0]) == pytest.approx(_relative_focal(K, w, h), rel=0.005)
    assert float(recovered[0]) == pytest.approx(shift, rel=0.005)
    # the plain guess of a 60 degree lens and no shift is far off for the other cameras
    if fov_deg != 60.0:
        assert abs(_relative_focal(intrinsics_from_fov(w, h, 60.0), w, h) / _relative_focal(K, w, h) - 1) > 0.2


def test_with_a_known_focal_only_the_shift_is_fitted():
    h, w = 240, 320
    K = intrinsics_from_fov(w, h, 70.0)
    points = _affine_points(_scene_depth(h, w), K, 2.0, 0.8)
    known = torch.tensor([_relative_focal(K, w, h)])
    focal, shift = moge2.recover_focal_shift(points.float(), focal=known)
    assert float(focal[0]) == pytest.approx(float(known[0]))
    assert float(shift[0]) == pytest.approx(0.8, rel=0.005)
    assert float(moge2.focal_from_fov_x(70.0, w / h)) == pytest.approx(_relative_focal(K, w, h), rel=1e-9)


def test_points_without_perspective_still_give_a_finite_camera():
    """A flat, constant prediction has no focal / shift optimum; the fit must not run to infinity."""
    points = torch.ones((2, 48, 64, 3))
    points[1, ..., :2] = torch.randn(48, 64, 2) * 1e-3
    focal, shift = moge2.recover_focal_shift(points)
    assert torch.isfinite(focal).all() and torch.isfinite(shift).all()
    lo, hi = moge2.FOCAL_RANGE
    assert ((focal >= lo) & (focal <= hi)).all()
    empty = moge2.recover_focal_shift(points[:1], torch.zeros((1, 48, 64), dtype=torch.bool))
    assert (float(empty[0][0]), float(empty[1][0])) == (1.0, 0.0)


def test_a_perfect_prediction_gives_back_the_scene_truth(tmp_path):
    """The network replaced by what a perfect MoGe-2 would output for a scene-engine image: the
    post-processing returns the truth's point map and intrinsics, in the project's camera frame."""
    scenes = pytest.importorskip("hispatial_assets.scenes")

    root = str(tmp_path / "root")
    image_id = scenes.write_drop(root, "d", n_images=1, seed=4, outdoor_share=0.0, width=160, height=120)[0]
    truth = scenes.load_truth(f"{root}/drops/d/{image_id}.png")
    expected = unproject(truth.depth, truth.intrinsics)
    scale, shift = 2.5, 0.6
    points = _affine_points(np.where(expected.mask, truth.depth, 1.0), truth.intrinsics, scale, shift)
    points[0][~torch.from_numpy(expected.mask)] = torch.tensor([0.3, -0.2, -5.0], dtype=points.dtype)
    raw = {"points": points.float(), "mask": torch.from_numpy(expected.mask.astype(np.float32))[None],
           "metric_scale": torch.tensor([scale]), "normal": torch.zeros((1, 120, 160, 3))}
    pm = moge2.point_maps(moge2.postprocess(raw))[0]
    np.testing.assert_allclose(pm.intrinsics, truth.intrinsics, rtol=2e-3)
    assert (pm.mask == expected.mask).all()
    np.testing.assert_allclose(pm.xyz[pm.mask], expected.xyz[expected.mask], rtol=5e-3, atol=5e-3)
    # the known field of view gives the same camera
    known = moge2.point_maps(moge2.postprocess(raw, fov_x_deg=truth.fov_deg))[0]
    np.testing.assert_allclose(known.intrinsics, truth.intrinsics, rtol=1e-5)
    np.testing.assert_allclose(known.xyz[known.mask], expected.xyz[expected.mask], rtol=5e-3, atol=5e-3)
