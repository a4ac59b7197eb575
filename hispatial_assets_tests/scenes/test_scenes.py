"""The scene engine's ground truth is exact and follows the geometry conventions (DESIGN §3)."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from hispatial_assets import schema
from hispatial_assets.geometry.camera import unproject
from hispatial_assets.geometry.frames import gravity_from_up, roll_pitch_deg, to_gravity
from hispatial_assets.scenes import (
    CLASSES, INDOOR_LABELS, PALETTE, READY, SURFACE_CODES, WITH_FRONT, generate_scene, load_truth, render,
    truth_objects, write_drop,
)
from hispatial_assets.storage import io

W, H = 320, 240
DROP_FILES = (".png", ".truth.npz", ".truth.json")


@pytest.fixture(scope="module")
def drop(tmp_path_factory) -> list:
    """A small drop on disk (4 indoor, 2 outdoor images) and its truth read back from the files."""
    root = str(tmp_path_factory.mktemp("root"))
    ids = write_drop(root, "d0", n_images=6, seed=7, outdoor_share=1 / 3, width=W, height=H)
    return [(image_id, load_truth(io.join(root, "drops", "d0", f"{image_id}.png"))) for image_id in ids]


@pytest.fixture(scope="module")
def renders() -> list:
    indoor = [render(generate_scene(seed, "indoor"), W, H) for seed in range(8)]
    return indoor + [render(generate_scene(seed, "outdoor"), W, H) for seed in range(6)]


def _gravity_points(truth, object_id):
    pm = unproject(truth.depth, truth.intrinsics)
    sel = (truth.instances == object_id) & pm.mask
    return to_gravity(pm.xyz[sel].astype(np.float64), truth.rotation)


def _box_coords(points, obj):
    """Points in the object's box frame: (along u, along v, up), relative to the box center."""
    yaw = obj["yaw"]
    u, v = np.array([np.cos(yaw), np.sin(yaw), 0.0]), np.array([-np.sin(yaw), np.cos(yaw), 0.0])
    d = points - np.asarray(obj["center"])
    return np.column_stack([d @ u, d @ v, d[:, 2]])


def _files(root: str) -> dict[str, bytes]:
    fs, path = io.fs_and_path(root)
    return {p[len(path):]: fs.cat_file(p) for p in sorted(fs.find(path))}


def test_same_seed_gives_identical_bytes_and_another_seed_does_not(tmp_path):
    kw = dict(n_images=2, outdoor_share=0.5, width=160, height=120, sensor_sidecars=True)
    write_drop(str(tmp_path / "a"), "d", seed=3, **kw)
    write_drop(str(tmp_path / "b"), "d", seed=3, **kw)
    write_drop(str(tmp_path / "c"), "d", seed=4, **kw)
    a, b, c = (_files(str(tmp_path / x)) for x in "abc")
    assert len(a) == 2 * 5 + 1 and a == b
    assert a.keys() == c.keys()
    assert all(a[k] != c[k] for k in a if not k.endswith(READY))


def test_generate_scene_is_deterministic():
    s1, s2, s3 = generate_scene(11), generate_scene(11), generate_scene(12)
    assert [o.label for o in s1.objects] == [o.label for o in s2.objects]
    assert all(np.array_equal(a.mesh.vertices, b.mesh.vertices) for a, b in zip(s1.objects, s2.objects))
    assert s1.camera == s2.camera and s1.camera != s3.camera


def test_visible_depth_lies_inside_the_ground_truth_box(drop):
    checked = 0
    for _, truth in drop:
        for obj in truth.objects:
            local = _box_coords(_gravity_points(truth, obj["object_id"]), obj)
            inside = np.all(np.abs(local) <= np.asarray(obj["extents"]) / 2 + 0.01, axis=1)
            assert inside.mean() >= 0.99, (obj["label"], inside.mean())
            checked += 1
    assert checked >= 20


def test_boxes_are_tight_around_the_visible_points(drop):
    """The box is the full object, so visible points reach its top for most upright objects."""
    tops = []
    for _, truth in drop:
        for obj in truth.objects:
            if obj["n_points"] >= 200 and not obj["truncated"] and obj["visible_fraction"] > 0.9:
                local = _box_coords(_gravity_points(truth, obj["object_id"]), obj)
                tops.append(abs(local[:, 2].max() - obj["extents"][2] / 2))
    assert len(tops) >= 5 and np.median(tops) < 0.02


def test_floor_pixels_lie_at_the_floor_height(renders):
    for r in renders:
        floor = np.isin(r.surfaces, [SURFACE_CODES["floor"], SURFACE_CODES["ground"]])
        assert floor.sum() > 100
        pts = to_gravity(unproject(r.depth, r.intrinsics).xyz[floor].astype(np.float64), r.rotation)
        assert np.abs(pts[:, 2] - r.floor_height).max() < 2e-3
        assert r.floor_height < 0


def test_rotation_is_the_gravity_frame_of_roll_and_pitch(drop):
    for _, truth in drop:
        R = truth.rotation
        assert np.allclose(R @ R.T, np.eye(3), atol=1e-9)
        assert np.allclose(gravity_from_up(R[2]), R, atol=1e-9)  # y = forward made horizontal
        assert np.allclose(roll_pitch_deg(R), (truth.roll_deg, truth.pitch_deg), atol=1e-6)
        assert abs(truth.roll_deg) <= 15 and -5 <= truth.pitch_deg <= 15 and 50 <= truth.fov_deg <= 80


def test_indoor_scenes_cover_at_least_twelve_classes(renders):
    labels = {o["label"] for r in renders if r.kind == "indoor" for o in r.objects}
    assert len(labels) >= 12 and labels <= set(INDOOR_LABELS)


def test_some_scene_shows_three_objects_of_one_class(renders):
    most = [max(Counter(o["label"] for o in r.objects).values(), default=0) for r in renders]
    assert sum(m >= 3 for m in most) >= 3


def test_scenes_have_between_six_and_fifteen_objects():
    for kind in ("indoor", "outdoor"):
        for seed in range(10):
            assert 6 <= len(generate_scene(seed, kind).objects) <= 15


def test_supported_objects_stand_on_their_support(renders):
    pairs = 0
    for r in renders:
        by_id = {o["object_id"]: o for o in r.objects}
        for o in r.objects:
            if o["supported_by"] is not None:
                s = by_id[o["supported_by"]]
                bottom = o["center"][2] - o["extents"][2] / 2
                assert bottom == pytest.approx(s["center"][2] + s["extents"][2] / 2, abs=1e-4)
                assert np.abs(_box_coords(np.array([o["center"]]), s)[0, :2]).max() <= max(s["extents"][:2]) / 2
                pairs += 1
            else:
                assert o["center"][2] - o["extents"][2] / 2 == pytest.approx(r.floor_height, abs=1e-4)
    assert pairs >= 3


def test_front_yaw_is_box_yaw_plus_half_pi_for_objects_with_a_front(renders):
    for r in renders:
        for o in r.objects:
            if o["label"] in WITH_FRONT:
                diff = (o["front_yaw"] - o["yaw"] - np.pi / 2 + np.pi) % (2 * np.pi) - np.pi
                assert abs(diff) < 1e-5
            else:
                assert o["front_yaw"] is None
    assert {"chair", "sofa", "bed", "monitor", "cabinet", "shelf", "car", "bench", "person"} == set(WITH_FRONT)


def test_chair_backs_are_opposite_their_front(drop, renders):
    """Back-rest points (above the seat) sit at -v: the front faces +v (front_yaw = yaw + pi/2)."""
    checked = 0
    for _, truth in drop:
        for o in truth.objects:
            if o["label"] in ("chair", "sofa"):
                local = _box_coords(_gravity_points(truth, o["object_id"]), o)
                h = o["extents"][2]
                back = local[local[:, 2] > -h / 2 + 0.75 * h]  # top quarter: back rest only
                if len(back) >= 10:
                    assert np.median(back[:, 1]) < -o["extents"][1] / 4
                    checked += 1
    assert checked >= 2


def test_outdoor_sky_is_invalid_depth_and_indoor_rooms_are_closed(renders):
    for r in renders:
        sky = r.surfaces == SURFACE_CODES["sky"]
        assert np.array_equal(sky, r.depth == 0)
        assert not np.any(r.instances[sky])
        if r.kind == "indoor":
            assert not sky.any()
    assert any((r.surfaces == SURFACE_CODES["sky"]).mean() > 0.05 for r in renders if r.kind == "outdoor")


def test_outdoor_scenes_hold_street_things(renders):
    labels = {o["label"] for r in renders if r.kind == "outdoor" for o in r.objects}
    assert {"car", "tree", "person"} <= labels


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # pycocotools' decode on numpy 2
def test_masks_boxes_and_point_counts_agree_with_the_instance_map(drop):
    for _, truth in drop:
        ids = set(np.unique(truth.instances)) - {0}
        assert ids == {o["object_id"] for o in truth.objects}
        assert sorted(ids) == list(range(1, len(ids) + 1))
        for o in truth.objects:
            m = truth.mask(o["object_id"])
            rle = {"size": [truth.height, truth.width], "counts": o["mask_rle"].encode()}
            assert np.array_equal(mask_utils.decode(rle).astype(bool), m)
            ys, xs = np.nonzero(m)
            assert o["box_2d"] == [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
            assert o["n_points"] == m.sum() > 0
            assert o["color"] in PALETTE and o["color_rgb"] == list(PALETTE[o["color"]])
            assert o["label"] in CLASSES


def test_visible_fraction_counts_pixels_against_the_object_rendered_alone():
    scene = generate_scene(3)
    full = render(scene, W, H)
    assert any(o["occluded"] for o in full.objects) or any(o["visible_fraction"] < 1 for o in full.objects)
    visible = [i for i, so in enumerate(scene.objects)]
    by_label_center = {(o["label"], tuple(o["center"])): o for o in full.objects}
    for i in visible[:8]:
        so = scene.objects[i]
        key = (so.label, tuple(round(float(c), 6) for c in so.center))
        if key not in by_label_center:
            continue
        alone = render(dataclasses.replace(scene, objects=[so]), W, H)
        o = by_label_center[key]
        assert o["visible_fraction"] == pytest.approx(o["n_points"] / alone.objects[0]["n_points"], abs=1e-3)
        assert o["occluded"] == (o["visible_fraction"] < 0.6)


def test_truncated_objects_touch_the_border(renders):
    flags = [(o["truncated"], o["box_2d"]) for r in renders for o in r.objects]
    assert any(t for t, _ in flags)
    for t, (x0, y0, x1, y1) in flags:
        if t:
            assert x0 == 0 or y0 == 0 or x1 == W or y1 == H


def test_truth_objects_conform_to_the_gt_objects_contract(drop):
    image_id, truth = drop[0]
    df = truth_objects(truth, "d0", image_id)
    assert df.schema == schema.conform(df, "gt_objects").schema and df.columns == list(schema.GT_OBJECTS)
    assert len(df) == len(truth.objects)
    assert set(df["backend"]) == {"scene_engine"} and set(df["image_id"]) == {image_id}
    first = truth.objects[0]
    row = df.row(0, named=True)
    assert (row["color_r"], row["color_g"], row["color_b"]) == tuple(first["color_rgb"])
    assert [row[k] for k in ("box_x0", "box_y0", "box_x1", "box_y1")] == first["box_2d"]
    assert row["center_x"] == first["center"][0] and row["height"] == first["extents"][2]


def test_write_drop_to_memory_writes_ready_last(monkeypatch):
    written = []
    real = io.write_bytes
    monkeypatch.setattr(io, "write_bytes", lambda uri, data: written.append(uri) or real(uri, data))
    root = "memory://scenes-test-root"
    ids = write_drop(root, "m1", n_images=2, seed=1, width=96, height=72, sensor_sidecars=True)
    assert ids == ["img_0000", "img_0001"]
    assert written[-1] == f"{root}/drops/m1/{READY}" and len(written) == 2 * 5 + 1
    truth = load_truth(f"{root}/drops/m1/img_0001")
    assert truth.depth.shape == (72, 96) and truth.depth.dtype == np.float32
    assert truth.instances.dtype == np.uint16
    doc = json.loads(io.read_bytes(f"{root}/drops/m1/img_0001.truth.json"))
    assert {"seed", "kind", "width", "height", "intrinsics", "rotation", "floor_height", "roll_deg",
            "pitch_deg", "fov_deg", "objects"} <= doc.keys()
    assert np.allclose(io.read_json(f"{root}/drops/m1/img_0001.intrinsics.json")["intrinsics"], truth.intrinsics)


def test_sensor_depth_sidecar_is_millimeters(tmp_path):
    from PIL import Image
    import io as _io

    write_drop(str(tmp_path), "s", n_images=2, seed=6, outdoor_share=0.5, width=96, height=72, sensor_sidecars=True)
    assert load_truth(str(tmp_path / "drops" / "s" / "img_0001")).depth.max() > 65.535  # far ground: out of range
    for image_id in ("img_0000", "img_0001"):
        stem = str(tmp_path / "drops" / "s" / image_id)
        mm = np.asarray(Image.open(_io.BytesIO(io.read_bytes(f"{stem}.depth.png"))))
        truth = load_truth(stem)
        assert mm.dtype == np.uint16 and mm.shape == truth.depth.shape
        in_range = (truth.depth > 0) & (truth.depth <= 65.535)
        assert np.array_equal(mm > 0, in_range)
        assert np.abs(mm[in_range] / 1000.0 - truth.depth[in_range]).max() <= 5e-4


def test_drop_mixes_outdoor_images_by_share(drop):
    assert [t.kind for _, t in drop] == ["indoor", "indoor", "outdoor", "indoor", "indoor", "outdoor"]
    assert len({t.seed for _, t in drop}) == 6


def test_files_of_a_drop(tmp_path):
    write_drop(str(tmp_path), "f", n_images=1, seed=0, width=64, height=48)
    names = sorted(p.name for p in (tmp_path / "drops" / "f").iterdir())
    assert names == [READY] + sorted(f"img_0000{s}" for s in DROP_FILES)
    assert all(not n.startswith(".") and ".tmp-" not in n for n in names)
