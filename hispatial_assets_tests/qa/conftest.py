import os

import polars as pl
import pytest

from hispatial_assets.qa import QAConfig, generate_all

from .scenes import image_inputs

os.environ.setdefault("HF_DATASETS_OFFLINE", "1")


@pytest.fixture(scope="session")
def images():
    return [image_inputs(seed) for seed in range(24)]


@pytest.fixture(scope="session")
def qa(images) -> pl.DataFrame:
    return generate_all(images, QAConfig(seed=7))


@pytest.fixture(scope="session")
def qa_mixed(images) -> pl.DataFrame:
    return generate_all(images, QAConfig(seed=3, units="mixed"))


@pytest.fixture(scope="session")
def objects(images) -> pl.DataFrame:
    return pl.concat([img.objects for img in images])


@pytest.fixture(scope="session")
def point_maps(images):
    return {img.image_id: img.point_map for img in images}
