"""The training loop: it learns, it resumes exactly after a kill, it trains from a PaliGemma2 base with
the vision tower frozen; and the predictor answers from what it learned."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import polars as pl
import pytest
import torch
from safetensors.torch import load_file

from hispatial_assets.model.data import micro_batch_indices
from hispatial_assets.model.inference import Query, load_predictor
from hispatial_assets.model.runs import build_sft_dataset
from hispatial_assets.model.train import STATE_FILE, TrainConfig, lr_at, read_trainer_state, step_dirs, train
from hispatial_assets.storage import io
from hispatial_assets.storage.images import read_rgb
from hispatial_assets.storage.point_maps import load_point_map
from hispatial_assets_tests.model.tiny import save_paligemma2_base


@pytest.fixture(scope="module")
def rows_16(model_root, tmp_path_factory) -> str:
    """16 spatial QA rows of the train drop, written where TrainConfig reads them."""
    rows = build_sft_dataset(model_root.root, "rgb_xyz").rows
    rows = rows.filter((pl.col("split") == "train") & (pl.col("source") == "spatial")).sample(16, seed=0)
    return io.write_parquet(str(tmp_path_factory.mktemp("rows") / "rows.parquet"), rows)


@pytest.fixture(scope="module")
def overfit(rows_16, tmp_path_factory):
    cfg = TrainConfig(rows_uri=rows_16, out_dir=str(tmp_path_factory.mktemp("overfit")), max_steps=80, lr=3e-3,
                      warmup_steps=3, save_every=1000, log_every=1000)
    return train(cfg, log=lambda *_: None)


def test_the_learning_rate_warms_up_linearly_then_decays_on_a_cosine():
    cfg = TrainConfig(rows_uri="", out_dir="", lr=1.0, warmup_steps=4, max_steps=14, min_lr_ratio=0.1)
    assert [lr_at(s, cfg) for s in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_at(9, cfg) == pytest.approx(0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * 0.5)))
    assert lr_at(14, cfg) == pytest.approx(0.1)


def test_batches_cover_every_row_once_per_epoch_and_ranks_never_overlap():
    epoch = np.concatenate([micro_batch_indices(10, 5, m, seed=3) for m in range(2)])
    assert sorted(epoch) == list(range(10))
    ranks = [set(micro_batch_indices(40, 4, 0, seed=3, rank=r, world=2)) for r in range(2)]
    assert not ranks[0] & ranks[1]
    assert not np.array_equal(epoch, np.concatenate([micro_batch_indices(10, 5, m, seed=3) for m in range(2, 4)]))


def test_the_default_model_overfits_16_qa_rows(overfit):
    history = read_trainer_state(overfit)["history"]
    first_epoch = np.mean([h["loss"] for h in history[:2]])  # 16 rows = 2 batches of 8
    last_epoch = np.mean([h["loss"] for h in history[-2:]])
    assert last_epoch < 0.1 * first_epoch, (first_epoch, last_epoch)


def test_the_predictor_answers_what_the_model_learned_and_batching_changes_nothing(overfit, rows_16):
    rows = io.read_parquet(rows_16)
    predictor = load_predictor(str(overfit))
    queries = [Query(read_rgb(r["image_uri"]), r["question"], load_point_map(r["point_map_uri"]))
               for r in rows.iter_rows(named=True)]
    answers = predictor.answer(queries, batch_size=8)
    assert predictor.answer(queries[:3], batch_size=1) == answers[:3]  # left padding changes no answer
    recalled = sum(a == r for a, r in zip(answers, rows["answer"]))
    assert recalled >= 14, list(zip(answers, rows["answer"]))
    assert predictor.modality == "rgb_xyz" and predictor.checkpoint_uri == str(overfit)


class Killed(Exception):
    pass


def _weights(folder) -> dict[str, torch.Tensor]:
    return load_file(str(folder / "model.safetensors"))


def test_a_run_killed_after_k_steps_resumes_to_the_same_weights(rows_16, tmp_path):
    cfg = TrainConfig(rows_uri=rows_16, out_dir=str(tmp_path / "straight"), max_steps=6, save_every=2, log_every=1,
                      lr=3e-3, warmup_steps=2)
    straight = train(cfg, log=lambda *_: None)

    def kill_at_step_5(line: str):
        if line.startswith("step 5/"):
            raise Killed(line)

    resumed_cfg = dataclasses.replace(cfg, out_dir=str(tmp_path / "killed"))
    with pytest.raises(Killed):
        train(resumed_cfg, log=kill_at_step_5)
    out = tmp_path / "killed"
    assert [d.name for d in step_dirs(out)] == ["step_000002", "step_000004"]
    (out / ".step_000006.tmp-deadbeef").mkdir()  # a save torn by the kill: never renamed into place
    (out / "step_000006").mkdir()  # and a folder without its state: not a checkpoint
    lines = []
    resumed = train(resumed_cfg, log=lines.append)
    assert lines[0].startswith("resumed from") and lines[0].endswith("step 4")
    a, b = _weights(straight), _weights(resumed)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert read_trainer_state(resumed)["history"] == read_trainer_state(straight)["history"]
    opt_a = torch.load(straight / STATE_FILE, weights_only=True)["optimizer"]["state"]
    opt_b = torch.load(resumed / STATE_FILE, weights_only=True)["optimizer"]["state"]
    assert all(torch.equal(opt_a[i]["exp_avg_sq"], opt_b[i]["exp_avg_sq"]) for i in opt_a)


def test_training_from_a_paligemma2_base_moves_the_xyz_branch_and_freezes_the_vision_tower(rows_16, tmp_path):
    base = save_paligemma2_base(tmp_path / "base")
    cfg = TrainConfig(rows_uri=rows_16, out_dir=str(tmp_path / "run"), base_path=base, max_steps=2, lr=1e-3,
                      warmup_steps=1, batch_size=4)
    before, after = _weights(tmp_path / "base"), _weights(train(cfg, log=lambda *_: None))
    vision = [k for k in before if k.startswith("vision_tower.")]
    assert vision and all(torch.equal(before[k], after[k]) for k in vision)
    projector = after["model.xyz_projector.weight"] if "model.xyz_projector.weight" in after else after["xyz_projector.weight"]
    assert torch.count_nonzero(projector) > 0  # zero at the start, trained now
    llm = [k for k in before if k.startswith("language_model.") and k.endswith("mlp.down_proj.weight")]
    assert llm and not all(torch.equal(before[k], after[k]) for k in llm)


def test_rows_without_a_train_split_are_a_clear_error(rows_16, tmp_path):
    val_only = io.write_parquet(str(tmp_path / "val.parquet"), io.read_parquet(rows_16).with_columns(split=pl.lit("val")))
    with pytest.raises(ValueError, match="no training rows"):
        train(TrainConfig(rows_uri=val_only, out_dir=str(tmp_path / "run"), max_steps=1))
    assert not (tmp_path / "run").exists()  # nothing written
