"""Fixtures for the model tests: data roots made by the real pipeline on tiny scene-engine drops, on
the default (estimated) path: point maps are ``synthetic_noisy``, not exact."""

from __future__ import annotations

from dataclasses import dataclass

import dagster as dg
import pytest

from hispatial_assets.cli import orchestrate
from hispatial_assets.config import PipelineConfig
from hispatial_assets.definitions import build_definitions
from hispatial_assets.scenes import write_drop
from hispatial_assets.storage.layout import DataRoot

# drop id -> (seed, images): "demo_000" hashes to train; the prefixes decide val and test
DROPS = {"demo_000": (11, 2), "val_a": (12, 1), "test_a": (13, 1)}


@dataclass
class PipelineRoot:
    root: DataRoot
    instance: dg.DagsterInstance
    config: PipelineConfig

    def definitions(self, **training) -> dg.Definitions:
        cfg = PipelineConfig(stages=self.config.stages, qa=self.config.qa, training=training)
        return build_definitions(cfg, root=self.root.root)

    def add_drop(self, drop_id: str, seed: int, n_images: int = 1) -> None:
        write_drop(self.root.root, drop_id, n_images=n_images, seed=seed, width=160, height=120)
        orchestrate.register_drops(self.instance, [drop_id])
        assert orchestrate.materialize_drop(self.definitions(), self.instance, drop_id).success


def pipeline_root(path, instance) -> PipelineRoot:
    config = PipelineConfig()
    assert config.stages["point_maps"]["backend"] == "synthetic_noisy"
    return PipelineRoot(DataRoot.resolve(str(path)), instance, config)


@pytest.fixture(scope="session")
def model_root(tmp_path_factory) -> PipelineRoot:
    """Three tiny drops (train, val, test) through the whole pipeline, shared by read-only tests."""
    base = tmp_path_factory.mktemp("model_root")
    (base / "dagster_home").mkdir()
    with dg.instance_for_test(temp_dir=str(base / "dagster_home")) as instance:
        pr = pipeline_root(base / "root", instance)
        for drop_id, (seed, n) in DROPS.items():
            pr.add_drop(drop_id, seed, n)
        yield pr
