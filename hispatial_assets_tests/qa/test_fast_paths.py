"""The throughput shortcuts of QA synthesis keep its behaviour: every answer_value is valid JSON, and
the precomputed footprint gaps equal `program.gap`."""

import json

import pytest

from hispatial_assets.qa import QAConfig, generate_all
from hispatial_assets.qa.program import gap
from hispatial_assets.qa.scene import SceneObjects

from .scenes import image_inputs


@pytest.mark.parametrize("units", ["metric", "mixed"])
def test_every_answer_value_is_valid_json(images, units):
    qa = generate_all(images[:6], QAConfig(seed=1, units=units))
    for av in qa["answer_value"]:
        assert isinstance(json.loads(av), dict)


def test_gap_matrix_equals_program_gap():
    for seed in range(10):
        s = SceneObjects(image_inputs(seed, n=12))
        G = s.gap_matrix()
        for i in range(s.n):
            for j in range(s.n):
                if i != j:
                    assert G[i][j] == gap(s, i, j)


def test_generate_all_leaves_the_garbage_collector_as_it_was(images):
    import gc

    assert gc.isenabled()
    generate_all(images[:1], QAConfig(), levels=(2,))
    assert gc.isenabled()
    gc.disable()
    try:
        generate_all(images[:1], QAConfig(), levels=(2,))
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_scene_objects_unsorted_ids_and_missing_values():
    import polars as pl
    im = image_inputs(3, n=9)
    obj = im.objects.reverse().with_columns(pl.lit(None, dtype=pl.Float64).alias("yaw"))
    s = SceneObjects(type(im)(**{**im.__dict__, "objects": obj}))
    ref = SceneObjects(im)
    assert s.id_list == sorted(s.id_list) == ref.id_list
    assert (s.center == ref.center).all() and (s.whd == ref.whd).all()
    assert (s.yaw == 0.0).all() and s.labels == ref.labels and s.expr == ref.expr
    assert (s.size_ok == ref.size_ok).all()
