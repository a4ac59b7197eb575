"""The model's side of the one scoring path: what `ModelAnswerer` hands the predictor (image, prompt,
the point map of the recipe's modality) and that its answers go through the same parser and scorer.
The predictor is a recording fake here: the model is not what these tests are about."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from hispatial_assets.evaluation.answerers import POINT_MAPS_BY_MODALITY, ModelAnswerer
from hispatial_assets.evaluation.run import point_map_source
from hispatial_assets.evaluation.scoring import evaluate
from hispatial_assets.evaluation.task import get_task
from hispatial_assets.storage.images import ImageRef
from hispatial_assets.perception.point_maps import read_truth_depth
from hispatial_assets.storage.tables import point_map_loader


class RecordingPredictor:
    def __init__(self, answers: dict[str, str]):
        self.answers, self.calls = answers, []

    def answer(self, queries, *, max_new_tokens=32, batch_size=8):
        self.calls.append(list(queries))
        return [self.answers.get(q.question, "") for q in queries]


@pytest.fixture
def items(eval_root):
    return get_task("self").prepare(eval_root.root)[:7]


@pytest.mark.parametrize("modality", ["rgb", "rgb_reldepth", "rgb_xyz", "rgb_gt_xyz"])
def test_each_modality_gets_its_point_map(eval_root, items, modality):
    predictor = RecordingPredictor({})
    ModelAnswerer(predictor, point_map_source(eval_root, POINT_MAPS_BY_MODALITY[modality]), batch_size=3).answer(items)
    queries = [q for call in predictor.calls for q in call]
    assert [len(c) for c in predictor.calls] == [3, 3, 1] and len(queries) == len(items)
    for it, q in zip(items, queries):
        assert q.question == it.prompt and q.image.shape == (192, 256, 3)
        if modality == "rgb":
            assert q.point_map is None
            continue
        if modality == "rgb_gt_xyz":
            expected = read_truth_depth(ImageRef(it.meta["drop_id"], it.meta["image_id"], it.image, 256, 192))
        else:
            expected = point_map_loader(eval_root, it.meta["drop_id"])(it.meta["image_id"])
        assert np.array_equal(q.point_map.xyz, expected.xyz)


def test_model_answers_are_scored_like_every_other_answerer(eval_root, items):
    from hispatial_assets.evaluation.baselines import baseline_answerer, fit_baseline

    oracle = baseline_answerer(fit_baseline("oracle", pl.DataFrame(), eval_root.root), eval_root)
    texts = oracle.answer(items)
    answers = {it.prompt: t for it, t in zip(items, texts)}
    answers[items[0].prompt] = "gibberish"  # one unreadable answer
    result = evaluate(get_task("self"), items, ModelAnswerer(RecordingPredictor(answers)))
    overall = result.scores.filter((pl.col("category") == "all") & (pl.col("metric") == "accuracy")).row(0, named=True)
    assert overall["value"] == pytest.approx(6 / 7) and overall["parse_failures"] == 1


def test_a_trained_recipe_is_scored_through_the_same_path(eval_root, items):
    """Wiring, not quality: a two-step checkpoint of the real tiny model answers and is scored."""
    from hispatial_assets.evaluation.run import evaluate_recipe
    from hispatial_assets.model.runs import train_recipe

    with pytest.raises(FileNotFoundError, match="train it first"):
        evaluate_recipe(eval_root, "rgb_gt_xyz", "self", items=items)
    row = train_recipe(eval_root, "rgb_gt_xyz", max_steps=2, log=lambda *a, **k: None)
    result = evaluate_recipe(eval_root, "rgb_gt_xyz", "self", items=items)
    assert result.checkpoint_uri == row["uri"]
    assert result.evaluation.predictions["answer"].null_count() == 0 and len(result.evaluation.predictions) == len(items)
    overall = result.table.filter((pl.col("category") == "all") & (pl.col("metric") == "accuracy")).row(0, named=True)
    assert overall["n"] == len(items) and 0.0 <= overall["value"] <= 1.0
    assert pl.read_parquet(result.scores_uri).equals(result.table)
