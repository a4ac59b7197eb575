"""UI previews: boxes land on their objects, point-map previews keep invalid pixels black, data URIs round-trip."""

from __future__ import annotations

import base64
import io as _io
import re

import numpy as np
import polars as pl
import pytest
from PIL import Image

from hispatial_assets.drawing import previews as viz
from hispatial_assets.geometry.camera import unproject
from hispatial_assets.storage.images import ImageRef
from hispatial_assets import scenes


DATA_URI = re.compile(r"!\[([^\]]*)\]\((data:image/png;base64,([A-Za-z0-9+/=]+))\)")


@pytest.fixture(scope="module")
def renders():
    return [scenes.render(scenes.generate_scene(seed, "indoor"), 256, 192) for seed in (21, 22, 23)]


def _decode(uri: str) -> np.ndarray:
    return np.asarray(Image.open(_io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB"))


def test_projected_box_corners_enclose_the_visible_mask_of_fully_visible_objects(renders):
    checked = 0
    for im in renders:
        objs = scenes.truth_objects(im, "d", "i")
        corners = viz.projected_corners(objs, im.rotation, im.intrinsics)
        for row, px in zip(objs.iter_rows(named=True), corners):
            if row["truncated"] or row["visible_fraction"] < 0.95 or not np.isfinite(px).all():
                continue
            ys, xs = np.nonzero(im.instances == row["object_id"])
            inside = ((xs + 0.5 >= px[:, 0].min() - 1) & (xs + 0.5 <= px[:, 0].max() + 1)
                      & (ys + 0.5 >= px[:, 1].min() - 1) & (ys + 0.5 <= px[:, 1].max() + 1))
            assert inside.mean() >= 0.9, (row["label"], inside.mean())
            checked += 1
    assert checked >= 5


def test_overlay_draws_each_box_where_it_projects(renders):
    im = renders[0]
    objs = scenes.truth_objects(im, "d", "i").filter(~pl.col("truncated")).head(1)
    overlay = viz.boxes_overlay(im.rgb, objs, im.rotation, im.intrinsics, max_width=512)
    assert overlay.shape == im.rgb.shape and overlay.dtype == np.uint8
    changed = np.nonzero((overlay != im.rgb).any(axis=2))
    px = viz.projected_corners(objs, im.rotation, im.intrinsics)[0]
    grow = 16  # the label sits just above the box; the front arrow may reach a little past it
    near = ((changed[1] >= px[:, 0].min() - grow) & (changed[1] <= px[:, 0].max() + grow)
            & (changed[0] >= px[:, 1].min() - grow) & (changed[0] <= px[:, 1].max() + grow))
    assert len(changed[0]) > 50 and near.mean() >= 0.95


def test_boxes_behind_the_camera_are_clipped_not_drawn_across_the_image(renders):
    im = renders[0]
    behind = pl.DataFrame({"object_id": [1], "label": ["ghost"], "center_x": [0.0], "center_y": [-3.0],
                           "center_z": [0.0], "width": [1.0], "depth": [1.0], "height": [1.0], "yaw": [0.0],
                           "front_yaw": [None]})
    overlay = viz.boxes_overlay(im.rgb, behind, im.rotation, im.intrinsics, max_width=512)
    assert np.array_equal(overlay, im.rgb)


def test_point_map_preview_has_the_expected_size_and_black_invalid_pixels():
    h, w = 384, 512
    depth = np.full((h, w), 2.0, np.float32) + np.linspace(0, 3, w, dtype=np.float32)[None]
    depth[:, : w // 4] = 0.0  # left quarter invalid
    pm = unproject(depth, np.array([[400.0, 0, w / 2], [0, 400.0, h / 2], [0, 0, 1]]))
    small = viz.point_map_preview(pm, max_width=256)
    assert small.shape == (192, 256, 3) and small.dtype == np.uint8
    full = viz.point_map_preview(pm, max_width=1024)
    assert full.shape == (h, w, 3)
    assert (full[~pm.mask] == 0).all() and (full[pm.mask].max(axis=1) > 0).all()
    assert (small[:, :64] == 0).all() and (small[:, 64:].max(axis=2) > 0).all()
    near, far = full[h // 2, w // 4 + 1], full[h // 2, -1]
    assert near[0] > near[2] and far[2] > far[0]  # near red, far blue


def test_data_uri_decodes_to_the_same_image(renders):
    rgb = renders[1].rgb
    uri = viz.png_data_uri(rgb)
    assert uri.startswith("data:image/png;base64,")
    assert np.array_equal(_decode(uri), rgb)


def test_preview_markdown_holds_every_image_and_stays_under_the_budget():
    rng = np.random.default_rng(0)
    noise = [(f"img_{i} [noise]", rng.integers(0, 256, (768, 1024, 3), dtype=np.uint8)) for i in range(2)]
    md = viz.preview_markdown(noise)
    found = DATA_URI.findall(md)
    assert len(found) == 2 and len(md.encode()) <= viz.MAX_MARKDOWN_BYTES
    assert all(_decode(uri).shape[1] < 1024 for _, uri, _ in found)  # downscaled to fit
    small = viz.preview_markdown([("a", noise[0][1][:48, :64])])
    assert np.array_equal(_decode(DATA_URI.findall(small)[0][1]), noise[0][1][:48, :64])  # small ones stay exact


def test_objects_preview_shows_a_few_images_and_names_every_object_under_each(tmp_path):
    ids = scenes.write_drop(str(tmp_path), "d", n_images=5, width=128, height=96)
    refs, truth = [], {}
    for image_id in ids:
        uri = str(tmp_path / "drops" / "d" / f"{image_id}.png")
        refs.append(ImageRef("d", image_id, uri, 128, 96))
        truth[image_id] = scenes.load_truth(uri)
    objects = pl.concat([scenes.truth_objects(t, "d", k) for k, t in truth.items()])
    md = viz.objects_preview(refs, objects, {k: t.gravity() for k, t in truth.items()},
                             lambda k: truth[k].point_map())
    found = DATA_URI.findall(md)
    assert [caption.split(":")[0] for caption, _, _ in found] == ids[:viz.PREVIEW_IMAGES]
    assert all(_decode(uri).shape == (96, 128, 3) for _, uri, _ in found)
    notes = [line for line in md.splitlines() if line.startswith("| ") and "![" not in line and "---" not in line
             and "objects |" not in line]  # the table row under each pair of images
    named = [cell.strip() for line in notes for cell in line.strip("| ").split(" | ")]
    for image_id, note in zip(ids, named):
        expected = objects.filter(pl.col("image_id") == image_id).sort("object_id")
        assert note == " · ".join(f"{o} {lab}" for o, lab in zip(expected["object_id"], expected["label"]))


def test_labels_of_a_crowded_image_never_overlap_and_stay_inside_it():
    rng = np.random.default_rng(0)
    width, height = 200, 150
    centers = rng.uniform([60, 45], [140, 105], size=(14, 2))  # 14 boxes of 16 px heaped in the middle
    extents = np.concatenate([centers - 8, centers + 8], axis=1)
    extents[0] = [-5.0, -5.0, 30.0, 20.0]  # reaches past the corner: its label must still land inside
    extents[1] = np.nan  # off the image: no label
    sizes = [[(58.0, 14.0), (16.0, 14.0)]] * len(extents)  # "12 chair", else "12"
    spots = viz.place_labels(extents, sizes, (width, height))
    rects = np.array([s[1] for s in spots if s is not None])
    assert spots[1] is None and len(rects) >= 12  # of the 13 on the image
    assert sum(s is not None and s[0] == 0 for s in spots) >= 9  # most with their words
    assert (rects[:, :2] >= 0).all() and (rects[:, 2] <= width).all() and (rects[:, 3] <= height).all()
    for i in range(len(rects)):
        for j in range(i + 1, len(rects)):
            a, b = rects[i], rects[j]
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)
    # Each label at its first spot (above its box, as before) would overlap others here.
    first = np.array([viz.label_candidates(e, (58.0, 14.0))[0] for e in extents[2:]])
    assert ((np.abs(first[:, None] - first[None]) < [58, 14]).all(axis=2).sum() - len(first)) > 0


def test_a_label_that_fits_is_written_in_full_above_its_box():
    spots = viz.place_labels(np.array([[50.0, 60.0, 90.0, 100.0]]), [[(40.0, 12.0), (10.0, 12.0)]], (200, 150))
    which, rect = spots[0]
    assert which == 0 and np.allclose(rect, [50, 47, 90, 59])


def test_point_maps_share_one_depth_scale_and_its_legend_reads_in_meters():
    K = np.array([[100.0, 0, 32], [0, 100.0, 24], [0, 0, 1]])
    near = unproject(np.linspace(1.0, 2.0, 64, dtype=np.float32)[None].repeat(48, 0), K)
    far = unproject(np.linspace(2.0, 8.0, 64, dtype=np.float32)[None].repeat(48, 0), K)
    scale = viz.inverse_depth_range([near, far])
    assert 1.0 <= 1 / scale[1] < 1.1 and 7.5 < 1 / scale[0] <= 8.0  # 2-98% of all valid pixels together
    a, b = viz.point_map_preview(near, 64, scale), viz.point_map_preview(far, 64, scale)
    assert np.array_equal(a[0, -1], b[0, 0])  # 2 m is one color in both
    assert not np.array_equal(viz.point_map_preview(near, 64)[0, -1], viz.point_map_preview(far, 64)[0, 0])
    assert viz.depth_ticks_m(1.7, 15.0) == [1.7, 2.0, 5.0, 10.0, 15.0]
    legend = viz.depth_legend(scale)
    bar = legend[10, 4:200].astype(int)
    assert bar[0, 0] > bar[0, 2] and bar[-1, 2] > bar[-1, 0]  # red near on the left, blue far on the right
    assert (legend == 0).all(axis=2).sum() > 150  # the black "no depth" swatch (and the text)


def test_point_maps_and_objects_asset_pages_carry_previews(data_root, instance):
    import dagster as dg

    from hispatial_assets.config import PipelineConfig
    from hispatial_assets.definitions import DROP_JOB, build_definitions

    scenes.write_drop(data_root.root, "pv", n_images=3, width=128, height=96)
    defs = build_definitions(PipelineConfig(), root=data_root.root)
    instance.add_dynamic_partitions("drops", ["pv"])
    keys = [dg.AssetKey(k) for k in ("drop_manifest", "point_maps", "gravity", "objects")]
    result = defs.resolve_job_def(DROP_JOB).execute_in_process(partition_key="pv", instance=instance,
                                                               asset_selection=keys)
    assert result.success
    previews = {e.asset_key.path[-1]: e.materialization.metadata["preview"].value
                for e in result.get_asset_materialization_events() if "preview" in e.materialization.metadata}
    assert set(previews) == {"point_maps", "objects"}
    shown = {k: [(caption.split(":")[0], _decode(uri).shape) for caption, uri, _ in DATA_URI.findall(md)]
             for k, md in previews.items()}
    images = [(f"img_{i:04d}", (96, 128, 3)) for i in range(3)]
    assert shown["objects"] == images
    assert shown["point_maps"][0][0].startswith("depth legend") and shown["point_maps"][1:] == images
