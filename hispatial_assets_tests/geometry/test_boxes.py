"""Boxes: exact recovery on hand-made point sets and ray-cast rooms, flags, flying pixels, the plain
baseline, noise measurement, parts cut off by dropouts, round and hidden-back priors."""

from __future__ import annotations

import numpy as np
import pytest

from hispatial_assets.geometry.boxes import (
    MIN_POINTS,
    Box,
    axis_aligned_boxes,
    border_truncated,
    box_corners,
    complete_hidden_depth,
    fit_box,
    fit_boxes,
    fit_boxes_to_points,
    flying_pixels,
    min_area_rectangle,
    occlusion_fraction,
)
from hispatial_assets.geometry.camera import PointMap, unproject
from hispatial_assets.geometry.depth_noise import inconsistent_pixels, relative_depth_noise
from hispatial_assets.geometry.metrics import box_errors
from hispatial_assets.geometry.priors import canonical_label
from hispatial_assets.perception.noise import degrade_point_map

from .synth import SynthBox, render


def sample_visible_faces(center, extents, yaw, n=40):
    """Grid samples on the top face and the two faces toward the camera (-y side and -x/+x side)."""
    w, d, h = extents
    s = np.linspace(-0.5, 0.5, n)
    a, b = np.meshgrid(s, s)
    a, b = a.ravel(), b.ravel()
    top = np.column_stack([a * w, b * d, np.full_like(a, h / 2)])
    front = np.column_stack([a * w, np.full_like(a, -d / 2), b * h])
    side = np.column_stack([np.full_like(a, w / 2), a * d, b * h])
    local = np.concatenate([top, front, side])
    c, s_ = np.cos(yaw), np.sin(yaw)
    rot = np.array([[c, -s_, 0], [s_, c, 0], [0, 0, 1]])
    return local @ rot.T + np.asarray(center)


def test_fit_box_recovers_a_sampled_box_exactly():
    center, extents, yaw = np.array([0.4, 3.0, -0.9]), np.array([1.2, 0.6, 0.8]), np.deg2rad(25)
    box = fit_box(sample_visible_faces(center, extents, yaw), trim=0.0, denoise=False)
    assert box.center == pytest.approx(center, abs=1e-6)
    assert box.extents == pytest.approx(extents, abs=1e-6)
    assert box.yaw == pytest.approx(yaw, abs=1e-6)


def test_fit_box_canonicalizes_width_at_least_depth():
    # depth > width with yaw 10 deg is the same solid as width > depth with yaw 100 deg -> -80 deg
    box = fit_box(sample_visible_faces([0, 3, 0], [0.5, 1.5, 1.0], np.deg2rad(10)), trim=0.0, denoise=False)
    assert box.extents[0] >= box.extents[1]
    assert box.extents[:2] == pytest.approx([1.5, 0.5], abs=1e-6)
    assert box.yaw == pytest.approx(np.deg2rad(-80), abs=1e-6)


def test_yaw_hint_fixes_the_width_axis():
    pts = sample_visible_faces([0, 3, 0], [0.5, 1.5, 1.0], np.deg2rad(10))
    box = fit_box(pts, yaw_hint=np.deg2rad(10), trim=0.0, denoise=False)
    assert box.yaw == pytest.approx(np.deg2rad(10))
    assert box.extents[:2] == pytest.approx([0.5, 1.5], abs=1e-6)


def test_rotating_calipers_find_a_rotated_rectangle():
    corners = box_corners([1.0, 2.0, 0.0], [3.0, 1.0, 0.0], np.deg2rad(30))[::2, :2]
    rng = np.random.default_rng(0)
    inner = rng.uniform(-0.5, 0.5, size=(200, 2)) @ np.array([[3.0, 0], [0, 1.0]])
    c, s = np.cos(np.deg2rad(30)), np.sin(np.deg2rad(30))
    pts = np.concatenate([corners, inner @ np.array([[c, s], [-s, c]]) + [1.0, 2.0]])
    angle, center, size = min_area_rectangle(pts)
    assert center == pytest.approx([1.0, 2.0], abs=1e-6)
    assert sorted(size) == pytest.approx([1.0, 3.0], abs=1e-6)
    assert np.rad2deg(angle) % 90 == pytest.approx(30.0, abs=1e-6)


def test_round_objects_get_their_full_diameter():
    # a cylinder of radius 0.2 seen from the camera: only the near half of its side is visible
    rng = np.random.default_rng(1)
    center = np.array([0.5, 3.0])
    view = center / np.linalg.norm(center)
    base = np.arctan2(-view[1], -view[0])
    t = base + rng.uniform(-np.pi / 2, np.pi / 2, 3000)
    z = rng.uniform(-1.5, -0.7, 3000)
    pts = np.column_stack([center[0] + 0.2 * np.cos(t), center[1] + 0.2 * np.sin(t), z])
    box = fit_box(pts, trim=0.0, denoise=False)
    assert box.extents[:2] == pytest.approx([0.4, 0.4], abs=0.01)
    assert box.center[:2] == pytest.approx(center, abs=0.01)


def test_fit_box_to_too_few_points_is_invalid():
    table = fit_boxes_to_points([np.zeros((10, 3)), sample_visible_faces([0, 3, 0], [1, 1, 1], 0.0)], min_points=50)
    assert table["valid"].to_list() == [False, True]
    assert np.isnan(table["width"][0])


def test_boxes_from_a_ray_cast_room_match_the_truth():
    truth = [
        SynthBox((-0.8, 3.0, -1.5 + 0.4), (0.9, 0.5, 0.8), np.deg2rad(20)),
        SynthBox((0.9, 4.0, -1.5 + 0.25), (0.6, 0.6, 0.5), np.deg2rad(-35)),
    ]
    scene = render(truth, roll_deg=4.0, pitch_deg=12.0)
    # exact depth has no outliers: no trimming (the default trims 2% for estimator noise)
    table = fit_boxes(scene.point_map, scene.masks(), scene.rotation, floor_height=scene.floor_height, trim=0.0)
    err = box_errors(table, np.array([[*b.center, *b.extents, b.yaw] for b in truth]))
    assert table["valid"].all()
    assert err["center_error"].max() <= 0.02
    assert err["size_error"].max() <= 0.05
    assert err["yaw_error_deg"].max() <= 1.0


def test_flying_pixels_are_found_between_surfaces_not_on_planes():
    depth = np.full((40, 60), 4.0, dtype=np.float32)
    depth[:, :30] = 2.0  # a foreground plane on the left
    depth[:, 30] = 3.0  # a smeared edge column
    pm = unproject(depth, np.array([[50.0, 0, 30], [0, 50.0, 20], [0, 0, 1]]))
    fly = flying_pixels(pm)
    assert fly[:, 30].all()
    assert not fly[:, :30].any() and not fly[:, 31:].any()


def test_flying_pixels_spare_a_grazing_floor():
    scene = render([], roll_deg=0.0, pitch_deg=5.0, back_wall_y=None)
    assert flying_pixels(scene.point_map).mean() < 0.001


def test_border_truncated_flags_masks_touching_the_border():
    masks = np.zeros((3, 10, 10), dtype=bool)
    masks[0, 0:3, 4:6] = True
    masks[1, 4:6, 4:6] = True
    masks[2, 5:8, 7:10] = True
    assert border_truncated(masks).tolist() == [True, False, True]


def test_occlusion_fraction_sees_a_nearer_neighbour():
    depth = np.full((20, 20), 5.0, dtype=np.float32)
    depth[5:15, 5:15] = 3.0  # the object
    depth[5:15, 12:18] = 2.0  # a nearer object covering its right part
    pm = unproject(depth, np.eye(3) * [10, 10, 1] + [[0, 0, 10], [0, 0, 10], [0, 0, 0]])
    obj = np.zeros((1, 20, 20), dtype=bool)
    obj[0, 5:15, 5:12] = True
    occluder = np.zeros((1, 20, 20), dtype=bool)
    occluder[0, 5:15, 12:18] = True
    frac_obj = occlusion_fraction(pm, obj)[0]
    frac_occ = occlusion_fraction(pm, occluder)[0]
    assert frac_obj == pytest.approx(10 / 34)  # the right edge (10 of 34 boundary edges) borders a nearer surface
    assert frac_occ == 0.0


def test_fit_boxes_ignores_invalid_pixels():
    scene = render([SynthBox((0.0, 3.0, -1.1), (0.8, 0.5, 0.8), 0.3)], pitch_deg=10.0)
    mask = scene.point_map.mask.copy()
    mask[::2] = False
    pm = PointMap(np.where(mask[..., None], scene.point_map.xyz, np.nan).astype(np.float32), mask, scene.point_map.intrinsics)
    table = fit_boxes(pm, scene.masks(), scene.rotation)
    assert table["valid"][0] and np.isfinite(table["width"][0])


# ------------------------------------------------------------------ baseline, noise, parts, priors


def test_axis_aligned_boxes_are_the_min_max_of_the_valid_masked_points():
    scene = render([SynthBox((0.3, 3.0, -1.1), (0.8, 0.5, 0.8), 0.4)], pitch_deg=10.0)
    masks = np.concatenate([scene.masks(), np.zeros((1, *scene.instances.shape), bool)])
    table = axis_aligned_boxes(scene.point_map, masks, scene.rotation)
    pts = scene.point_map.xyz[scene.masks()[0] & scene.point_map.mask].astype(np.float64) @ scene.rotation.T
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    row = table.row(0, named=True)
    assert [row["center_x"], row["center_y"], row["center_z"]] == pytest.approx(0.5 * (lo + hi), abs=1e-6)
    assert [row["width"], row["depth"], row["height"]] == pytest.approx(hi - lo, abs=1e-6)
    assert row["yaw"] == 0.0 and row["valid"]
    assert table["valid"].to_list() == [True, False]  # an empty mask has no box


def test_relative_depth_noise_measures_the_noise_and_ignores_planes():
    depth = np.fromfunction(lambda r, c: 3.0 + 0.004 * r + 0.002 * c, (80, 100)).astype(np.float64)
    inside = np.ones_like(depth, dtype=bool)
    assert relative_depth_noise(depth, inside) < 1e-3  # a tilted plane, not affine in depth: ~0 all the same
    plane = 1.0 / np.fromfunction(lambda r, c: 0.3 + 0.001 * r - 0.0005 * c, (80, 100))  # inverse depth affine
    assert relative_depth_noise(plane, inside) < 1e-9
    noisy = plane * (1 + 0.02 * np.random.default_rng(0).standard_normal(plane.shape))
    assert relative_depth_noise(noisy, inside) == pytest.approx(0.02, rel=0.1)


def test_inconsistent_pixels_flag_flying_pixels_but_not_a_thin_pole():
    z = np.full((30, 30), 3.0)
    inside = np.zeros((30, 30), dtype=bool)
    inside[5:25, 5:20] = True  # a face
    inside[5:25, 22] = True  # a one-pixel pole beside it
    z[10, 19] = 3.6  # a flying pixel on the face's edge, 20% behind
    flagged = inconsistent_pixels(z, inside, tol_rel=0.03)
    assert flagged.sum() == 1 and flagged[10, 19]


def test_dropouts_on_chair_legs_do_not_cost_the_legs():
    # a seat on four legs; every other row of the legs is dropped, as a sensor does on thin dark parts
    seat_z, leg_h = -1.5 + 0.45, 0.43
    parts = [SynthBox((0.0, 3.0, seat_z), (0.5, 0.5, 0.04), 0.3)]
    c, s = np.cos(0.3), np.sin(0.3)
    for du, dv in ((-0.22, -0.22), (-0.22, 0.22), (0.22, -0.22), (0.22, 0.22)):
        parts.append(SynthBox((du * c - dv * s, 3.0 + du * s + dv * c, -1.5 + leg_h / 2), (0.04, 0.04, leg_h), 0.3))
    scene = render(parts, pitch_deg=12.0)
    chair = np.isin(scene.instances, np.arange(len(parts)))[None]
    legs = np.isin(scene.instances, np.arange(1, len(parts)))
    mask = scene.point_map.mask & ~(legs & (np.arange(legs.shape[0])[:, None] % 3 == 0))
    pm = PointMap(np.where(mask[..., None], scene.point_map.xyz, 0).astype(np.float32), mask, scene.point_map.intrinsics)
    table = fit_boxes(pm, chair, scene.rotation, trim=0.0)
    assert table["center_z"][0] - 0.5 * table["height"][0] == pytest.approx(-1.5, abs=0.02)  # down to the floor
    assert table["height"][0] == pytest.approx(0.47, abs=0.02)


def test_labelled_round_object_gets_its_diameter_from_the_silhouette_under_heavy_noise():
    # a 0.16 m wide prism 3 m away, labelled as a bottle: the 3 cm depth noise swamps its visible depth
    truth = np.array([[0.2, 3.0, -1.2, 0.16, 0.16, 0.6, 0.0]])
    scene = render([SynthBox(tuple(truth[0, :3]), tuple(truth[0, 3:6]), 0.0)], pitch_deg=8.0)
    noisy = degrade_point_map(scene.point_map, seed=0, scale_sigma=0.0, noise_rel=0.01, hole_fraction=0.0, flying_fraction=0.0)
    table = fit_boxes(noisy, scene.masks(), scene.rotation, labels=["bottle"])
    assert table["width"][0] == pytest.approx(table["depth"][0])  # a disc's square
    err = box_errors(table, truth)
    assert err["size_error"][0] <= 0.08
    assert err["center_error"][0] <= 0.03


def test_hidden_back_is_completed_from_the_typical_depth():
    # a chair seen from behind: only its 0.1 m deep backrest shows, 3 m straight ahead
    seen = Box(center=np.array([0.0, 3.05, -1.0]), extents=np.array([0.47, 0.1, 0.9]), yaw=0.0, n_points=500)
    done = complete_hidden_depth(seen, np.array([0.47, 0.5, 0.9]))
    assert done.extents[:2] == pytest.approx([0.5, 0.47]) or done.extents[:2] == pytest.approx([0.47, 0.5])
    assert done.center[1] - 0.25 == pytest.approx(3.0)  # the near face stays where it was seen
    full = Box(center=np.array([0.0, 3.25, -1.0]), extents=np.array([0.47, 0.45, 0.9]), yaw=0.0, n_points=500)
    kept = complete_hidden_depth(full, np.array([0.47, 0.5, 0.9]))  # mostly seen: the measured depth stands
    assert np.array_equal(kept.center, full.center) and np.array_equal(kept.extents, full.extents)


def test_hidden_back_reaches_the_wall_seen_behind_it():
    seen = Box(center=np.array([0.0, 3.1, -1.0]), extents=np.array([0.8, 0.2, 0.9]), yaw=0.0, n_points=500)
    wall = np.column_stack([np.linspace(-0.7, 0.7, 40), np.full(40, 3.4), np.linspace(-1.2, -0.3, 40)])
    done = complete_hidden_depth(seen, np.array([0.8, 0.5, 0.9]), behind=wall)
    assert done.center[1] + 0.5 * done.extents[1] == pytest.approx(3.4)  # back at the wall, not the typical 3.5
    assert done.center[1] - 0.5 * done.extents[1] == pytest.approx(3.0)
    far_wall = wall + [0.0, 2.0, 0.0]  # a wall 2 m behind: no contact, the typical depth
    assert complete_hidden_depth(seen, np.array([0.8, 0.5, 0.9]), behind=far_wall).extents[1] == pytest.approx(0.5)


def test_small_objects_still_get_a_box():
    scene = render([SynthBox((0.0, 6.0, -1.45), (0.05, 0.05, 0.1), 0.0)], pitch_deg=10.0)
    n = int((scene.masks()[0] & scene.point_map.mask).sum())
    assert MIN_POINTS <= n < 50  # failed before (the 50-pixel minimum)
    table = fit_boxes(scene.point_map, scene.masks(), scene.rotation, labels=["mug"], trim=0.0)
    assert table["valid"][0]
    assert table["height"][0] == pytest.approx(0.1, abs=0.02)


def test_labels_must_match_the_masks():
    scene = render([SynthBox((0.0, 3.0, -1.1), (0.8, 0.5, 0.8), 0.3)])
    with pytest.raises(ValueError, match="labels"):
        fit_boxes(scene.point_map, scene.masks(), scene.rotation, labels=["chair", "table"])


@pytest.mark.parametrize("label, key", [("Trash can", "trash can"), ("trash_can", "trash can"), ("bottles", "bottle"),
                                        ("Cabinets", "cabinet"), ("glass", "glass"), (None, "")])
def test_labels_are_matched_loosely(label, key):
    assert canonical_label(label) == key
