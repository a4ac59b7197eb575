"""A tiny data root for evaluation: one held-out drop and one train drop (two scene-engine images each,
256×192), run through the default pipeline once per session. Tests that change tables copy it first."""

from __future__ import annotations

import shutil

import pytest

from hispatial_assets.splits import split_of
from hispatial_assets.storage.layout import DataRoot

TEST_DROP, TRAIN_DROP = "test_000", "train_000"


@pytest.fixture(scope="session")
def pipeline_root(tmp_path_factory) -> DataRoot:
    import dagster as dg

    from hispatial_assets.cli import orchestrate
    from hispatial_assets.definitions import build_definitions
    from hispatial_assets.scenes import write_drop

    assert split_of(TEST_DROP) == "test" and split_of(TRAIN_DROP) == "train"
    base = tmp_path_factory.mktemp("evaluation")
    root = DataRoot.resolve(str(base / "root"))
    for seed, drop_id in enumerate((TEST_DROP, TRAIN_DROP)):
        write_drop(root.root, drop_id, n_images=2, seed=11 + seed, width=256, height=192)
    (base / "home").mkdir()
    with dg.instance_for_test(temp_dir=str(base / "home")) as instance:
        defs = build_definitions(root=root.root)
        orchestrate.register_drops(instance, [TEST_DROP, TRAIN_DROP])
        for drop_id in (TEST_DROP, TRAIN_DROP):
            assert orchestrate.materialize_drop(defs, instance, drop_id).success
    return root


@pytest.fixture
def eval_root(pipeline_root, tmp_path) -> DataRoot:
    """A private copy of the pipeline's root (tests may corrupt its tables)."""
    shutil.copytree(pipeline_root.root, tmp_path / "root")
    return DataRoot.resolve(str(tmp_path / "root"))
