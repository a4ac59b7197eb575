"""Tiny random-init checkpoints, built once per session into a temp dir (no network)."""

from __future__ import annotations

import os

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import pytest  # noqa: E402

from . import tiny_models  # noqa: E402


@pytest.fixture(scope="session")
def checkpoints(tmp_path_factory):
    """Lazily built checkpoint dirs: ``checkpoints("sam")`` -> path."""
    root = tmp_path_factory.mktemp("checkpoints")
    built: dict[str, str] = {}
    builders = {"grounding_dino": tiny_models.save_grounding_dino, "sam": tiny_models.save_sam,
                "depth_anything": lambda p: tiny_models.save_depth_anything(p, varied=True),
                "depth_pro": tiny_models.save_depth_pro,
                "orient_anything": tiny_models.save_orient_anything, "vlm": tiny_models.save_vlm,
                "vlm_red_box": lambda p: tiny_models.save_vlm(p, reply="red box"),
                "moge2": tiny_models.save_moge2, "siglip": tiny_models.save_siglip}

    def get(kind: str) -> str:
        if kind not in built:
            built[kind] = builders[kind](root / kind)
        return built[kind]

    return get


@pytest.fixture
def image_512x384(tmp_path):
    return tiny_models.write_image(tmp_path, tiny_models.random_rgb(512, 384))
