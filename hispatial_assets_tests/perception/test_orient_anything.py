"""Orient Anything adapter: azimuth -> gravity-frame front yaw, and the crop -> model plumbing."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hispatial_assets.perception.base import CheckpointNotFound, Detections
from hispatial_assets.perception.orient_anything import (OrientAnythingOrientation, front_yaw_from_azimuth,
                                                         square_crop)

from . import tiny_models


@pytest.mark.parametrize("center,azimuth_deg,front_deg", [
    ((0.0, 5.0), 0.0, -90.0),    # straight ahead, facing the camera -> facing toward the camera
    ((0.0, 5.0), 180.0, 90.0),   # straight ahead, camera sees its back -> facing away
    ((5.0, 0.0), 0.0, 180.0),    # to the right, facing the camera -> facing left (toward the origin)
    ((-3.0, 3.0), 0.0, -45.0),   # ahead-left, facing the camera -> facing down-right toward the origin
    ((0.0, 5.0), 90.0, 180.0),   # straight ahead, front turned 90° clockwise from the camera -> facing left
])
def test_azimuth_becomes_front_yaw_through_the_viewing_ray(center, azimuth_deg, front_deg):
    yaw = front_yaw_from_azimuth(np.deg2rad(azimuth_deg), center[0], center[1])
    assert np.rad2deg(yaw) == pytest.approx(front_deg if front_deg < 180 else -180.0, abs=1e-9)


def test_clockwise_azimuth_sign_mirrors_the_turn():
    ccw = front_yaw_from_azimuth(np.deg2rad(30.0), 0.0, 5.0, azimuth_sign=1)
    cw = front_yaw_from_azimuth(np.deg2rad(30.0), 0.0, 5.0, azimuth_sign=-1)
    assert np.rad2deg(ccw) == pytest.approx(-120.0) and np.rad2deg(cw) == pytest.approx(-60.0)


def test_square_crop_pads_with_fill_and_blanks_the_background():
    rgb = np.zeros((40, 60, 3), np.uint8)
    mask = np.zeros((40, 60), bool)
    mask[10:20, 5:15] = True
    crop = square_crop(rgb, np.array([0, 10, 20, 20]), mask, margin=0.0)
    assert crop.shape == (20, 20, 3)
    assert (crop[5:15, 5:15] == 0).all()        # the masked object keeps its pixels
    assert (crop[:5] == 255).all()              # padding above the box
    assert (crop[5:15, :5] == 255).all()        # off-image on the left


def test_each_detection_gets_a_yaw_in_range_and_a_confidence(checkpoints, image_512x384):
    backend = OrientAnythingOrientation(checkpoints("orient_anything"), min_confidence=0.0)
    masks = np.zeros((3, 384, 512), bool)
    masks[0, 10:100, 10:100] = masks[1, 200:380, 300:500] = masks[2, 0:50, 450:512] = True
    det = Detections(labels=["chair", "sofa", "lamp"], scores=np.ones(3, np.float32), masks=masks,
                     boxes=np.array([[10, 10, 100, 100], [300, 200, 500, 380], [450, 0, 512, 50]], np.float32))
    boxes = pl.DataFrame({"center_x": [0.5, -1.0, None], "center_y": [3.0, 2.0, 4.0]})
    yaw, conf = backend.estimate(image_512x384, det, boxes)
    assert yaw.shape == (3,) and conf.shape == (3,)
    assert np.all((conf >= 0) & (conf <= 1))
    assert np.all((yaw[:2] >= -np.pi) & (yaw[:2] < np.pi))
    assert np.isnan(yaw[2])  # no gravity-frame center, no yaw


def test_yaw_matches_the_models_azimuth_bin(checkpoints, image_512x384):
    backend = OrientAnythingOrientation(checkpoints("orient_anything"), min_confidence=0.0, mask_background=False)
    box = np.array([[100, 100, 200, 250]], np.float32)
    det = Detections(labels=["chair"], scores=np.ones(1, np.float32), masks=np.ones((1, 384, 512), bool), boxes=box)
    rgb = image_512x384.rgb()
    azimuth, _ = backend.predict_crops([square_crop(rgb, box[0], None, backend.margin)])
    yaw, _ = backend.estimate(image_512x384, det, pl.DataFrame({"center_x": [0.0], "center_y": [4.0]}))
    assert np.rad2deg(azimuth[0]) == pytest.approx(round(np.rad2deg(azimuth[0])))  # one-degree bins
    assert yaw[0] == pytest.approx(front_yaw_from_azimuth(azimuth[0], 0.0, 4.0))


def test_low_confidence_means_no_front(checkpoints, image_512x384):
    backend = OrientAnythingOrientation(checkpoints("orient_anything"), min_confidence=1.01)
    det = Detections(labels=["chair"], scores=np.ones(1, np.float32), masks=np.ones((1, 384, 512), bool),
                     boxes=np.array([[0, 0, 50, 50]], np.float32))
    yaw, conf = backend.estimate(image_512x384, det, pl.DataFrame({"center_x": [0.0], "center_y": [4.0]}))
    assert np.isnan(yaw[0]) and 0 <= conf[0] <= 1


def test_missing_checkpoint_names_the_setting(tmp_path):
    with pytest.raises(CheckpointNotFound, match=r"stages\.orientation\.path"):
        OrientAnythingOrientation(str(tmp_path / "oa"))


def test_official_pt_weights_load_without_conversion(checkpoints, tmp_path):
    """A directory holding the official ``dino_weight.pt`` (same state-dict names) instead of safetensors."""
    import shutil

    import torch

    from hispatial_assets.perception.orient_anything import OrientAnythingNet

    src = checkpoints("orient_anything")
    net = OrientAnythingNet.from_pretrained(src)
    dst = tmp_path / "official"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("model.safetensors"))
    torch.save(net.state_dict(), dst / "dino_weight.pt")
    again = OrientAnythingNet.from_pretrained(str(dst))
    x = torch.randn(2, 3, 28, 28)
    with torch.no_grad():
        torch.testing.assert_close(again(x), net(x))


@pytest.mark.parametrize("center,azimuth_deg,sign,front_deg", [
    # straight ahead; the direction to the camera lies 90° counter-clockwise from the front: it faces left
    ((0.0, 4.0), 90, 1, 180.0),
    ((0.0, 4.0), 90, -1, 0.0),     # the same reading clockwise: it faces right
    ((0.0, 4.0), 0, 1, -90.0),     # front toward the camera
    ((-3.0, 3.0), 30, 1, -75.0),   # ahead-left: the ray's yaw (135°) + 180° - 30°
])
def test_a_model_answering_one_azimuth_gives_the_front_yaw_of_that_azimuth(tmp_path, image_512x384, center,
                                                                          azimuth_deg, sign, front_deg):
    """End to end through the weights: a head wired to one azimuth bin, the backend's decoding of it,
    and the sign convention of the module docstring."""
    path = tiny_models.save_orient_anything(tmp_path / "oa", azimuth_deg=azimuth_deg, azimuth_sign=sign)
    backend = OrientAnythingOrientation(path)
    det = Detections(labels=["chair"], scores=np.ones(1, np.float32), masks=np.ones((1, 384, 512), bool),
                     boxes=np.array([[100, 100, 220, 260]], np.float32))
    yaw, conf = backend.estimate(image_512x384, det, pl.DataFrame({"center_x": [center[0]], "center_y": [center[1]]}))
    assert conf[0] == pytest.approx(1.0, abs=1e-6)
    assert np.rad2deg(yaw[0]) % 360 == pytest.approx(front_deg % 360, abs=1e-6)
