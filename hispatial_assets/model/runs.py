"""Training a recipe end to end: its SFT rows, its checkpoint, the catalog rows. No Dagster here.

The `sft_dataset` and `checkpoints` assets, ``hispatial train`` and the ablation command all call
`build_sft_dataset`, `train_recipe` and `latest_checkpoint`, so a checkpoint trained from the CLI and
one trained from the UI are the same thing, recorded the same way.

Which rows a recipe trains on: the QA of its levels from every drop whose split (decided by the drop
id, `splits.split_of`) is train or val — test drops never reach training — plus general VQA at the
recipe's ratio per split. The dataset's data version is the hash of the rows it selected, so a new
test drop leaves it, and every checkpoint trained from it, untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import polars as pl

from hispatial_assets import schema
from hispatial_assets.catalog.duckdb import query
from hispatial_assets.catalog.lineage import latest_data_versions
from hispatial_assets.model.general import sample_general
from hispatial_assets.model.recipes import ALL_RECIPES, BASELINES, RECIPES, UnknownRecipe
from hispatial_assets.perception.base import identity_of
from hispatial_assets.splits import split_of
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot, check_drop_id

SFT_TABLE = "sft"
SFT_VERSION = "1"
TRAIN_VERSION = "1"
SFT_INPUT_ASSETS = ("qa_l0", "qa_l1", "qa_l2", "qa_l3", "point_maps", "objects", "referrals")
ALL_LEVELS = (0, 1, 2, 3)
KEYS = ["drop_id", "image_id"]
QA_COLUMNS = ["drop_id", "image_id", "qa_id", "level", "task", "format", "question", "answer", "answer_value", "object_ids"]
GENERAL_FILE = "general.llava.json"  # the default general set a recipe mixed in, beside its rows


SFT_OPTIONS = ("general_vqa_path", "general_image_root")  # settings of build_sft_dataset


def split_settings(settings: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Training settings (config file / resource) -> (build_sft_dataset options, TrainConfig overrides)."""
    settings = {k: v for k, v in settings.items() if v is not None}
    return ({k: v for k, v in settings.items() if k in SFT_OPTIONS},
            {k: v for k, v in settings.items() if k not in SFT_OPTIONS})


def sft_code_version(**options: Any) -> str:
    """SFT_VERSION plus what decides the rows besides the data: every recipe's definition and the
    general-VQA source."""
    recipes = {name: repr(r) for name, r in RECIPES.items()} | {name: "baseline" for name in BASELINES}
    return identity_of("sft", SFT_VERSION, {"recipes": recipes, **{k: v for k, v in options.items() if v}})


def check_recipe(recipe: str) -> str:
    if recipe not in ALL_RECIPES:
        raise UnknownRecipe(f"unknown recipe {recipe!r}; recipes: {', '.join(RECIPES)}; baselines: {', '.join(BASELINES)}")
    return recipe


@dataclass(frozen=True)
class SftDataset:
    recipe: str
    rows: pl.DataFrame  # schema.SFT
    data_version: str  # hash of the rows
    uri: str
    drops: tuple[str, ...]  # the drops it read
    input_versions: dict[str, str] = field(default_factory=dict)  # upstream asset -> digest over those drops
    images_without_point_map: int = 0  # left out of rgb_gt_xyz: no exact point map to read

    def counts(self) -> pl.DataFrame:
        return self.rows.group_by("split", "source", "level").len().sort("split", "source", "level")


def sft_drops(root: DataRoot, recipe: str) -> list[str]:
    """The drops a recipe reads: train + val (for the validation loss); baselines fit on train only."""
    splits = ("train",) if recipe in BASELINES else ("train", "val")
    ids = query(root, "SELECT DISTINCT drop_id FROM images")["drop_id"].to_list()
    return sorted(d for d in ids if split_of(d) in splits)


def _sql_list(values) -> str:
    return ", ".join(f"'{check_drop_id(v)}'" if isinstance(v, str) else str(int(v)) for v in values)


def _table(root: DataRoot, table: str, drops: list[str], columns: str = "*", where: str = "") -> pl.DataFrame:
    if not drops:
        return schema.empty(table) if columns == "*" else query(root, f"SELECT {columns} FROM {table} LIMIT 0")
    return query(root, f"SELECT {columns} FROM {table} WHERE drop_id IN ({_sql_list(drops)}) {where} "
                       f"ORDER BY ALL")


def input_versions_of(root: DataRoot, drops: list[str]) -> dict[str, str]:
    """Per upstream asset, a digest of the latest data version of each drop read: what `status` compares,
    so only a change in a drop the recipe reads makes its dataset stale."""
    latest = latest_data_versions(root, SFT_INPUT_ASSETS).filter(pl.col("partition").is_in(drops))
    out = {}
    for asset in SFT_INPUT_ASSETS:
        lines = sorted(f"{p}:{v}" for p, v in latest.filter(pl.col("asset") == asset)
                       .select("partition", "data_version").iter_rows())
        out[asset] = io.sha256_bytes("\n".join(lines).encode())
    return out


def exact_point_maps(root: DataRoot, images: pl.DataFrame, estimated: pl.DataFrame) -> pl.DataFrame:
    """(drop_id, image_id, point_map_uri) of the scene engine's exact point map of each image.

    Reuses ``point_maps`` where it came from the ``synthetic`` backend (exact); otherwise makes the map
    from the truth sidecar with that backend, once (cached under ``arrays/exact_point_maps``). Images
    without truth (real photos) are left out.
    """
    from hispatial_assets.perception.point_maps import MissingSidecar, SyntheticPointMaps
    from hispatial_assets.storage.images import ImageRef
    from hispatial_assets.storage.point_maps import write_point_map

    exact = {(d, i): u for d, i, u, b in estimated.select(*KEYS, "uri", "backend").iter_rows()
             if str(b).split("@")[0] == SyntheticPointMaps.name}
    backend, rows = SyntheticPointMaps(), []
    for r in images.iter_rows(named=True):
        uri = exact.get((r["drop_id"], r["image_id"])) or root.exact_point_map_uri(r["drop_id"], r["image_id"])
        if not io.exists(uri):
            try:
                write_point_map(uri, backend.estimate(ImageRef(r["drop_id"], r["image_id"], r["uri"], r["width"], r["height"])))
            except MissingSidecar:
                continue
        rows.append({"drop_id": r["drop_id"], "image_id": r["image_id"], "point_map_uri": uri})
    return pl.DataFrame(rows, schema={"drop_id": pl.String, "image_id": pl.String, "point_map_uri": pl.String})


def general_rows(root: DataRoot, recipe: str, drops: list[str], images: pl.DataFrame, point_maps: pl.DataFrame, *,
                 general_vqa_path: str | None, general_image_root: str | None, seed: int) -> pl.DataFrame:
    """The general-VQA pool in SFT columns: from LLaVA JSON at ``general_vqa_path``, else made from the
    drops (written beside the recipe's rows). Rows of test drops are dropped; rows without a drop are train."""
    from hispatial_assets.model.general import general_vqa_records, read_llava, write_llava

    if general_vqa_path:
        records = io.read_json(general_vqa_path)
    else:
        records = general_vqa_records(images, _table(root, "objects", drops), _table(root, "referrals", drops), seed=seed)
        write_llava(io.join(root.table_dir(SFT_TABLE), f"recipe={recipe}", GENERAL_FILE), records)
    pool = read_llava(records, general_image_root)
    split = pool["drop_id"].map_elements(split_of, return_dtype=pl.String).fill_null("train")
    pool = pool.with_columns(split=split).filter(pl.col("split") != "test")
    return pool.select(
        "drop_id", "image_id", pl.col("id").alias("qa_id"), pl.lit(None, pl.Int32).alias("level"), "task",
        pl.lit("free").alias("format"), "question", "answer",
        pl.struct(text=pl.col("answer")).struct.json_encode().alias("answer_value"), "object_ids",
        pl.col("image").alias("image_uri"), "split",
    ).join(point_maps, on=KEYS, how="left")


def build_sft_dataset(root: DataRoot, recipe: str, *, general_vqa_path: str | None = None,
                      general_image_root: str | None = None, seed: int = 0) -> SftDataset:
    """Select, write (``tables/sft/recipe=R/part.parquet``) and version a recipe's training rows.

    Model recipes: QA of the recipe's levels and formats from train and val drops, general VQA mixed in
    at ``general_ratio`` rows per spatial row within each split, and the point map its modality reads
    (the exact one for ``rgb_gt_xyz``). Baselines: the spatial train rows of all levels, no general mix.
    """
    check_recipe(recipe)
    spec = RECIPES.get(recipe)
    drops = sft_drops(root, recipe)
    images = _table(root, "images", drops, "drop_id, image_id, uri, width, height")
    estimated = _table(root, "point_maps", drops, "drop_id, image_id, uri, backend")
    if spec is not None and spec.modality == "rgb_gt_xyz":
        maps = exact_point_maps(root, images, estimated)
    else:
        maps = estimated.select(*KEYS, pl.col("uri").alias("point_map_uri"))
    levels, formats = (spec.levels, spec.formats) if spec else (ALL_LEVELS, None)
    qa = _table(root, "qa", drops, ", ".join(QA_COLUMNS), f"AND level IN ({_sql_list(levels)})")
    if formats is not None:
        qa = qa.filter(pl.col("format").is_in(list(formats)))
    split = {d: split_of(d) for d in drops}
    spatial = (qa.join(images.select(*KEYS, pl.col("uri").alias("image_uri")), on=KEYS, how="inner")
                 .join(maps, on=KEYS, how="left")
                 .with_columns(split=pl.col("drop_id").replace_strict(split, return_dtype=pl.String)))
    skipped = 0
    if spec is not None and spec.modality == "rgb_gt_xyz":
        skipped = len(images) - len(maps)
        spatial = spatial.filter(pl.col("point_map_uri").is_not_null())
    parts = [spatial.with_columns(source=pl.lit("spatial"))]
    if spec is not None and spec.general_ratio > 0:
        pool = general_rows(root, recipe, drops, images, maps, general_vqa_path=general_vqa_path,
                            general_image_root=general_image_root, seed=seed)
        for name in ("train", "val"):
            n = round(spec.general_ratio * spatial.filter(pl.col("split") == name).height)
            parts.append(sample_general(pool.filter(pl.col("split") == name), n, seed=seed)
                         .with_columns(source=pl.lit("general")))
    rows = pl.concat([schema.conform(p.with_columns(recipe=pl.lit(recipe), modality=pl.lit(spec.modality if spec else "")),
                                     SFT_TABLE) for p in parts])
    uri = io.write_parquet(root.recipe_table_uri(SFT_TABLE, recipe), rows)
    return SftDataset(recipe, rows, io.frame_hash(rows), uri, tuple(drops), input_versions_of(root, drops), skipped)


def read_sft(root: DataRoot, recipe: str) -> pl.DataFrame:
    """A recipe's rows as last written (``schema.SFT``); raises FileNotFoundError when never built."""
    uri = root.recipe_table_uri(SFT_TABLE, check_recipe(recipe))
    if not io.exists(uri):
        raise FileNotFoundError(f"no training rows for recipe {recipe!r} at {uri}: materialize sft_dataset[{recipe}] "
                                f"or run `hispatial train --recipe {recipe}`")
    return io.read_parquet(uri)


# --- checkpoints -----------------------------------------------------------------------------------

TRAIN_IDENTITY_EXCLUDED = ("rows_uri", "out_dir", "device", "num_workers", "cpu_threads", "resume", "log_every", "recipe",
                           "input_mode")


def train_settings(max_steps: int | None = None, **overrides: Any) -> dict[str, Any]:
    """TrainConfig fields that differ from its defaults (what a recipe run is configured with)."""
    from hispatial_assets.model.train import TrainConfig

    known = {f for f in TrainConfig.__dataclass_fields__}
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise TypeError(f"unknown training settings {unknown}; TrainConfig fields: {', '.join(sorted(known))}")
    settings = {k: v for k, v in overrides.items() if v is not None}
    if max_steps is not None:
        settings["max_steps"] = int(max_steps)
    return settings


def checkpoints_code_version(**settings: Any) -> str:
    """TRAIN_VERSION plus a hash of the output-changing settings (a real base by its files' fingerprint)."""
    from hispatial_assets.perception.base import checkpoint_fingerprint

    ident = {k: v for k, v in settings.items() if k not in TRAIN_IDENTITY_EXCLUDED}
    base = ident.get("base_path")
    if base and os.path.exists(base):
        ident["base_fingerprint"] = checkpoint_fingerprint(base)
    return identity_of("train", TRAIN_VERSION, ident)


def _run_dir(root: DataRoot, recipe: str, key: str) -> str:
    """Where a run writes: under the root's models/ (local), or a local staging folder uploaded at the end."""
    target = io.join(root.model_dir(recipe), f"run={key}")
    if root.is_local:
        return target
    return os.path.join(tempfile.gettempdir(), "hispatial_models", hashlib.sha256(target.encode()).hexdigest()[:16])


def _checkpoint_row(recipe: str, step: int, uri: str, train_loss, val_loss, data_version: str, code_version: str,
                    finished_at: datetime) -> dict:
    return {"recipe": recipe, "step": step, "uri": uri, "train_loss": train_loss, "val_loss": val_loss,
            "data_version": data_version, "code_version": code_version, "finished_at": finished_at}


def record_checkpoints(root: DataRoot, recipe: str, rows: list[dict]) -> pl.DataFrame:
    """Add rows to the recipe's checkpoints table (one row per saved checkpoint; a uri appears once)."""
    uri = root.recipe_table_uri("checkpoints", recipe)
    old = io.read_parquet(uri) if io.exists(uri) else schema.empty("checkpoints")
    new = schema.conform(pl.DataFrame(rows), "checkpoints")
    table = pl.concat([old.filter(~pl.col("uri").is_in(new["uri"].implode())), new]).sort("finished_at", "step")
    io.write_parquet(uri, table)
    return table


def train_recipe(root: DataRoot, recipe: str, *, max_steps: int | None = None, log=print, progress=None,
                 **overrides: Any) -> dict:
    """Train a recipe on its SFT rows (built first when absent) and record every saved checkpoint in
    the catalog; returns the checkpoints row of the last one.

    ``overrides`` are `TrainConfig` fields (base_path, batch_size, lr, device, ...). A run with the same
    rows and settings resumes from its newest checkpoint. Baselines are not trained:
    ``evaluation.baselines.fit_baseline`` fits them and one row (step 0) records what it wrote.
    """
    check_recipe(recipe)
    sft_uri = root.recipe_table_uri(SFT_TABLE, recipe)
    rows = read_sft(root, recipe) if io.exists(sft_uri) else build_sft_dataset(root, recipe).rows
    data_version = io.frame_hash(rows)
    settings = train_settings(max_steps, **overrides)
    code_version = checkpoints_code_version(**settings)
    key = hashlib.sha256(f"{data_version}|{code_version}".encode()).hexdigest()[:12]
    if recipe in BASELINES:
        from hispatial_assets.evaluation.baselines import fit_baseline

        out = fit_baseline(recipe, rows, io.join(root.model_dir(recipe), f"run={key}"))
        row = _checkpoint_row(recipe, 0, out, None, None, data_version, code_version, datetime.now(timezone.utc))
        record_checkpoints(root, recipe, [row])
        return row

    from hispatial_assets.model.train import TrainConfig, read_trainer_state, step_dirs, train

    run_dir = _run_dir(root, recipe, key)
    cfg = TrainConfig(rows_uri=sft_uri, out_dir=run_dir, input_mode=RECIPES[recipe].modality, recipe=recipe, **settings)
    train(cfg, log=log, progress=progress)
    saved = []
    for d in step_dirs(run_dir):
        state = read_trainer_state(d)
        uri = str(d) if root.is_local else _upload(d, io.join(root.model_dir(recipe), f"run={key}", d.name))
        saved.append(_checkpoint_row(recipe, state["step"], uri, state["train_loss"], state["val_loss"], data_version,
                                     code_version, datetime.fromisoformat(state["saved_at"])))
    record_checkpoints(root, recipe, saved)
    return saved[-1]


def _upload(local: Path, uri: str) -> str:
    fs, path = io.fs_and_path(uri)
    if not fs.exists(path):
        fs.put(str(local).rstrip("/") + "/", path, recursive=True)
    return uri


def record_lineage(root: DataRoot, asset: str, recipe: str, *, code_version: str, data_version: str, rows: int,
                   started_at: datetime, input_versions: dict[str, str], run_id: str) -> str:
    """The lineage record a materialization of ``asset`` for ``recipe`` writes, for runs outside Dagster
    (``hispatial train``), so `status` reads both paths the same way."""
    from hispatial_assets.catalog.lineage import LineageRecord, write_lineage

    return write_lineage(root, LineageRecord(asset=asset, partition=recipe, run_id=run_id, code_version=code_version,
                                             data_version=data_version, rows=rows, started_at=started_at,
                                             input_versions=input_versions))


def latest_checkpoint(root: DataRoot, recipe: str) -> str | None:
    """URI of the newest recorded checkpoint of a recipe (or baseline), None when there is none."""
    uri = root.recipe_table_uri("checkpoints", check_recipe(recipe))
    if not io.exists(uri):
        return None
    table = io.read_parquet(uri)
    return table.sort("finished_at", "step")["uri"][-1] if len(table) else None


def checkpoint_digest(uri: str) -> str:
    """Content hash of what a checkpoint holds (every file's name and bytes): the data version of
    `checkpoints`, so retraining to identical weights changes nothing downstream."""
    fs, path = io.fs_and_path(uri)
    files = sorted(fs.find(path)) if fs.isdir(path) else [path]
    h = hashlib.sha256()
    for f in files:
        name = f[len(path):]
        if name.endswith((".pt", "trainer_state.json")):
            continue  # optimizer state and timings: not what the model is
        h.update(name.encode())
        with fs.open(f, "rb") as fh:
            while chunk := fh.read(1 << 24):
                h.update(chunk)
    return h.hexdigest()


def history_of(uri: str) -> list[dict]:
    """The per-step history saved with a trained checkpoint ([] when there is none, e.g. a baseline)."""
    state = io.join(uri, "trainer_state.json")
    return json.loads(io.read_bytes(state)).get("history", []) if io.exists(state) else []


def build_and_train(root: DataRoot, recipe: str, *, max_steps: int | None = None, log=print, progress=None,
                    **settings: Any) -> dict:
    """What ``hispatial train`` runs outside Dagster: rebuild the recipe's rows, train (resuming a killed
    run), and write the same lineage records the two assets write, so `status` sees either path.
    ``settings``: the training settings of $HISPATIAL_CONFIG (`split_settings`)."""
    import uuid

    sft_options, overrides = split_settings(settings)
    run_id = f"cli-{uuid.uuid4()}"
    started = datetime.now(timezone.utc)
    sft = build_sft_dataset(root, recipe, **sft_options)
    record_lineage(root, "sft_dataset", recipe, code_version=sft_code_version(**sft_options), data_version=sft.data_version,
                   rows=len(sft.rows), started_at=started, input_versions=sft.input_versions, run_id=run_id)
    log(f"sft_dataset[{recipe}]: {len(sft.rows)} rows from {len(sft.drops)} drops (data version {sft.data_version[:12]})")
    started = datetime.now(timezone.utc)
    row = train_recipe(root, recipe, max_steps=max_steps, log=log, progress=progress, **overrides)
    record_lineage(root, "checkpoints", recipe, code_version=row["code_version"], data_version=checkpoint_digest(row["uri"]),
                   rows=int(row["step"]), started_at=started, input_versions={"sft_dataset": row["data_version"]},
                   run_id=run_id)
    return row


def recipe_staleness(root: DataRoot, code_versions: dict[str, str], recipes: tuple[str, ...] = ALL_RECIPES) -> pl.DataFrame:
    """(asset, partition, reason) for every stale recipe partition of ``sft_dataset`` and ``checkpoints``:
    missing, code version changed, upstream data changed (only drops the recipe reads count), or
    upstream stale. ``code_versions``: the current code version of each of the two assets."""
    latest = {(a, p): r for a, p, r in (
        (r["asset"], r["partition"], r) for r in latest_data_versions(root, ("sft_dataset", "checkpoints")).iter_rows(named=True))}
    current_inputs: dict[tuple[str, ...], dict[str, str]] = {}
    out = []
    for recipe in recipes:
        sft, ckpt = latest.get(("sft_dataset", recipe)), latest.get(("checkpoints", recipe))
        if sft is None:
            sft_reason = "missing"
        elif sft["code_version"] != code_versions.get("sft_dataset", sft["code_version"]):
            sft_reason = f"code version changed: {sft['code_version']} -> {code_versions['sft_dataset']}"
        else:
            drops = tuple(sft_drops(root, recipe))
            now = current_inputs.setdefault(drops, input_versions_of(root, list(drops)))
            recorded = json.loads(sft["input_versions"] or "{}")
            changed = [a for a in SFT_INPUT_ASSETS if recorded.get(a) != now[a]]
            sft_reason = f"upstream data changed: {', '.join(changed)} (drops it reads)" if changed else None
        if sft_reason:
            out.append(("sft_dataset", recipe, sft_reason))
        if ckpt is None:
            reason = "missing"
        elif ckpt["code_version"] != code_versions.get("checkpoints", ckpt["code_version"]):
            reason = f"code version changed: {ckpt['code_version']} -> {code_versions['checkpoints']}"
        elif sft is not None and json.loads(ckpt["input_versions"] or "{}").get("sft_dataset") != sft["data_version"]:
            reason = f"upstream data changed: sft_dataset -> {sft['data_version'][:12]}"
        else:
            reason = "upstream stale: sft_dataset" if sft_reason else None
        if reason:
            out.append(("checkpoints", recipe, reason))
    return pl.DataFrame(out, schema={"asset": pl.String, "partition": pl.String, "reason": pl.String}, orient="row")
