"""Fixtures for the fault-injection suite: `hispatial` processes that are always cleaned up."""

import pytest

from hispatial_assets_tests.faults.corpus import bomb_png

from hispatial_assets.scenes import write_drop
from hispatial_assets_tests.faults.harness import CliEnv


@pytest.fixture
def cli(tmp_path):
    env = CliEnv(tmp_path)
    yield env
    env.stop_all()


def scene_drop(root: str, drop_id: str, seed: int = 0, n_images: int = 2) -> str:
    """A tiny scene-engine drop (indoor, 128x96): every stage has something to do."""
    write_drop(root, drop_id, n_images=n_images, seed=seed, width=128, height=96, outdoor_share=0.0)
    return f"{root}/drops/{drop_id}"


@pytest.fixture(scope="session")
def bomb() -> bytes:
    return bomb_png()
