"""sft_dataset and checkpoints, one partition per recipe (baselines too): thin wiring over model/runs.py."""

from typing import Any, Optional

import dagster as dg

from hispatial_assets.defs.common import finish, now
from hispatial_assets.defs.partitions import recipes
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.model.runs import (
    SFT_INPUT_ASSETS,
    build_sft_dataset,
    checkpoint_digest,
    checkpoints_code_version,
    history_of,
    sft_code_version,
    split_settings,
    train_recipe,
)
from hispatial_assets.drawing.charts import loss_curve_markdown


class TrainingResource(dg.ConfigurableResource):
    """Compute and training settings (`TrainConfig` fields) and the general-VQA source of the SFT mix.

    Unset fields keep `TrainConfig`'s defaults: the tiny model, a few minutes on this CPU. On a GPU
    machine set e.g. ``{"training": {"device": "cuda", "base_path": "/models/paligemma2-3b-pt-448",
    "lr": 2e-5, "batch_size": 8, "grad_accum": 32, "max_steps": 70000}}`` in $HISPATIAL_CONFIG.
    """

    device: str = "cpu"
    base_path: Optional[str] = None
    max_steps: Optional[int] = None
    batch_size: Optional[int] = None
    grad_accum: Optional[int] = None
    lr: Optional[float] = None
    warmup_steps: Optional[int] = None
    save_every: Optional[int] = None
    num_workers: Optional[int] = None
    seed: Optional[int] = None
    general_vqa_path: Optional[str] = None  # LLaVA JSON; empty: made from the drops
    general_image_root: Optional[str] = None  # where its relative image paths live

    def settings(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(build_sft_dataset options, train_recipe overrides)."""
        return split_settings(self.model_dump())


def build_training_assets(training: TrainingResource) -> list[dg.AssetsDefinition]:
    sft_options, train_overrides = training.settings()

    @dg.asset(name="sft_dataset", partitions_def=recipes, code_version=sft_code_version(**sft_options),
              deps=[dg.AssetDep(a, partition_mapping=dg.AllPartitionMapping()) for a in SFT_INPUT_ASSETS],
              group_name="training", kinds={"parquet"},
              description="The training rows of a recipe: QA of its levels from train/val drops (split by drop id; "
              "test drops never), general VQA mixed at its ratio, the point map its modality reads. Data version: "
              "the hash of the selected rows, so drops a recipe does not read never make it stale.")
    def sft_dataset(context: dg.AssetExecutionContext, data_root: DataRootResource,
                    training: TrainingResource) -> dg.MaterializeResult:
        started, root = now(), data_root.data_root()
        sft = build_sft_dataset(root, context.partition_key, **training.settings()[0])
        counts = sft.counts()
        md = ["| split | source | level | rows |", "|---|---|---|---|"] + [
            f"| {s} | {src} | {'' if lv is None else lv} | {n} |" for s, src, lv, n in counts.iter_rows()]
        return finish(context, root, data_version=sft.data_version, rows=len(sft.rows), started_at=started,
                      input_versions=sft.input_versions,
                      metadata={"uri": sft.uri, "drops": len(sft.drops), "counts": dg.MetadataValue.md("\n".join(md)),
                                "images_without_point_map": sft.images_without_point_map})

    @dg.asset(name="checkpoints", partitions_def=recipes, deps=["sft_dataset"], pool="gpu",
              code_version=checkpoints_code_version(**train_overrides), group_name="training", kinds={"pytorch"},
              description="The recipe's RGB-XYZ VLM trained on its sft_dataset (safetensors; resumes after a kill), "
              "or a baseline fitted by evaluation.baselines. Every saved step is a row of the `checkpoints` view.")
    def checkpoints(context: dg.AssetExecutionContext, data_root: DataRootResource,
                    training: TrainingResource) -> dg.MaterializeResult:
        started, root = now(), data_root.data_root()
        row = train_recipe(root, context.partition_key, log=context.log.info, **training.settings()[1])
        history = history_of(row["uri"])
        metadata = {"uri": row["uri"], "step": row["step"], "sft_data_version": row["data_version"],
                    "train_loss": row["train_loss"], "val_loss": row["val_loss"]}
        if history:
            metadata["loss_curve"] = dg.MetadataValue.md(loss_curve_markdown(history))
        return finish(context, root, data_version=checkpoint_digest(row["uri"]), rows=int(row["step"]),
                      started_at=started, input_versions={"sft_dataset": row["data_version"]},
                      metadata={k: v for k, v in metadata.items() if v is not None})

    return [sft_dataset, checkpoints]
