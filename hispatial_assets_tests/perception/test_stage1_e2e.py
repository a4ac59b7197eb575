"""Stage 1 with real-model backends on tiny random-init checkpoints, through Dagster: the native MoGe-2
point maps chosen by ``HISPATIAL_POINT_MAPS_BACKEND=moge``, and ``grounded_sam`` with the SigLIP tagger."""

from __future__ import annotations

import json

import dagster as dg
import numpy as np
import pytest

from hispatial_assets.config import PipelineConfig
from hispatial_assets.definitions import DROP_JOB, build_definitions
from hispatial_assets.perception.base import settings_of
from hispatial_assets.storage.images import read_rgb
from hispatial_assets.storage.point_maps import load_point_map
from hispatial_assets.storage.tables import read_table

scenes = pytest.importorskip("hispatial_assets.scenes")


def _materialize(data_root, instance, config: PipelineConfig, drop: str, assets: list[str]):
    defs = build_definitions(config, root=data_root.root)
    instance.add_dynamic_partitions("drops", [drop])
    result = defs.resolve_job_def(DROP_JOB).execute_in_process(
        partition_key=drop, instance=instance, asset_selection=[dg.AssetKey(a) for a in assets])
    assert result.success


def test_a_drop_materializes_with_the_native_moge_backend(data_root, instance, checkpoints, tmp_path, monkeypatch):
    ids = scenes.write_drop(data_root.root, "m", n_images=2, seed=5, outdoor_share=0.5, width=128, height=96)
    config_file = tmp_path / "hispatial.json"  # the path in moge's block, the variable picks the backend
    config_file.write_text(json.dumps({"stages": {"point_maps": {"backend": "synthetic",
                                                                 "moge": {"path": checkpoints("moge2"), "num_tokens": 48}}}}))
    monkeypatch.setenv("HISPATIAL_CONFIG", str(config_file))
    monkeypatch.setenv("HISPATIAL_POINT_MAPS_BACKEND", "moge")
    config = PipelineConfig.from_env()
    assert config.identity("point_maps").startswith("moge@2+")
    _materialize(data_root, instance, config, "m", ["drop_manifest", "point_maps", "gravity", "qa_l0"])

    table = read_table(data_root, "point_maps", "m").sort("image_id")
    assert table["image_id"].to_list() == sorted(ids)
    assert set(table["backend"]) == {config.identity("point_maps")}
    for uri in table["uri"]:
        pm = load_point_map(uri)
        assert pm.xyz.shape == (96, 128, 3) and pm.mask.mean() > 0.9 and np.isfinite(pm.xyz).all()
        assert (pm.intrinsics[0, 2], pm.intrinsics[1, 2]) == (64.0, 48.0)
    assert len(read_table(data_root, "qa", "m", level=0)) > 0


def test_a_drop_materializes_with_grounded_sam_and_the_siglip_tagger(data_root, instance, checkpoints):
    scenes.write_drop(data_root.root, "g", n_images=2, seed=6, outdoor_share=0.0, width=128, height=96)
    detection = {"backend": "grounded_sam", "grounding_dino_path": checkpoints("grounding_dino"),
                 "sam_path": checkpoints("sam"), "siglip_path": checkpoints("siglip"), "tag_threshold": 0.0,
                 "tag_top_k": 3, "box_threshold": 0.0, "text_threshold": 0.0, "min_mask_px": 0}
    config = PipelineConfig().with_stage("detection", **detection)
    _materialize(data_root, instance, config, "g", ["drop_manifest", "point_maps", "gravity", "objects"])

    detector = config.build("detection")
    assert settings_of(detector)["tagger"].startswith("siglip_tagger@1")
    objects = read_table(data_root, "objects", "g")
    assert len(objects) > 0
    for (image_id,), group in objects.group_by("image_id"):  # every label is a tag SigLIP gave its image
        rgb = read_rgb(f"{data_root.root}/drops/g/{image_id}.png")
        assert set(group["label"]) <= set(detector.tagger(rgb))
