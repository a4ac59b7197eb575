"""UI previews: boxes land on their objects, point-map previews keep invalid pixels black, data URIs round-trip."""

from __future__ import annotations

import base64
import io as _io
import re

import numpy as np
import polars as pl
import pytest
from PIL import Image

from hispatial_assets import viz
from hispatial_assets.geometry.camera import unproject
from hispatial_assets.perception.base import ImageRef
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


def test_objects_preview_renders_the_first_images_of_a_drop(tmp_path):
    ids = scenes.write_drop(str(tmp_path), "d", n_images=3, width=128, height=96)
    refs, truth = [], {}
    for image_id in ids:
        uri = str(tmp_path / "drops" / "d" / f"{image_id}.png")
        refs.append(ImageRef("d", image_id, uri, 128, 96))
        truth[image_id] = scenes.load_truth(uri)
    objects = pl.concat([scenes.truth_objects(t, "d", k) for k, t in truth.items()])
    md = viz.objects_preview(refs, objects, {k: t.gravity() for k, t in truth.items()},
                             lambda k: truth[k].point_map())
    found = DATA_URI.findall(md)
    assert [caption.split(":")[0] for caption, _, _ in found] == ids[:2]
    assert all(_decode(uri).shape == (96, 128, 3) for _, uri, _ in found)


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
    assert shown == {"point_maps": [("img_0000", (96, 128, 3))],
                     "objects": [("img_0000", (96, 128, 3)), ("img_0001", (96, 128, 3))]}
