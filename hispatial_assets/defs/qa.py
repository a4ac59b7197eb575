"""qa_l0 … qa_l3 (one table per level, per drop), their blocking checks, and qa_stats."""

import json
import math
from collections.abc import Iterator

import dagster as dg
import polars as pl
from filelock import FileLock

from hispatial_assets.catalog.qa_stats import compact_summaries, qa_statistics
from hispatial_assets.defs.common import finish, now
from hispatial_assets.defs.partitions import drop_check, drops
from hispatial_assets.defs.perception import REFRESH, rotations_by_image
from hispatial_assets.defs.resources import DataRootResource
from hispatial_assets.defs.stage import StageOutput, run_stage, stream_table
from hispatial_assets.qa import QAConfig, generate_all
from hispatial_assets.qa.inputs import drop_inputs, in_batches
from hispatial_assets.qa.reader import coverage
from hispatial_assets.qa.summary import merge_summaries, summarize_qa
from hispatial_assets.qa.verify import format_balance, verify_drop, verify_qa
from hispatial_assets.storage import io
from hispatial_assets.storage.outputs import file_record
from hispatial_assets.storage.tables import point_map_loader, read_table

QA_VERSION = "4"  # 2: qa_id starts with the drop id (unique across the catalog); 3: qa_summary written beside;
# 4: rows streamed batch by batch (row groups), the data version is the hash of the batches' content hashes
LEVEL_DEPS = {0: ["point_maps"], 1: ["objects", "referrals"], 2: ["objects", "referrals", "gravity"],
              3: ["objects", "referrals", "gravity"]}
LEVEL_NAMES = {0: "geometry", 1: "attributes", 2: "relations", 3: "reasoning"}


QA_BATCH_IMAGES = 64  # images per generate_all call (same rows as one call: each image's rows are its own)


def synthesize_level(root, drop_id: str, level: int, config: QAConfig, input_versions: dict) -> Iterator[pl.DataFrame]:
    """The level's QA rows of the drop, batch by batch (the rows of QA_BATCH_IMAGES images each)."""
    images = read_table(root, "images", drop_id)
    versions = json.dumps(input_versions, sort_keys=True)
    if level == 0:
        inputs = drop_inputs(images, None, None, point_map_loader(root, drop_id), None, versions)
    else:
        inputs = drop_inputs(images, read_table(root, "objects", drop_id), read_table(root, "referrals", drop_id),
                             None, rotations_by_image(root, drop_id), versions)
    for batch in in_batches(inputs, QA_BATCH_IMAGES):
        yield generate_all(batch, config, levels=(level,))


def build_qa_asset(level: int, code_version: str, config: QAConfig) -> dg.AssetsDefinition:
    @dg.asset(name=f"qa_l{level}", partitions_def=drops, output_required=False, deps=LEVEL_DEPS[level], code_version=code_version,
              group_name="qa", kinds={"parquet"}, automation_condition=REFRESH,
              description=f"Level {level} ({LEVEL_NAMES[level]}) spatial QA of every image of the drop, in free / "
              "choice / boolean formats, each with a machine-checkable answer_value.")
    def qa_level(context: dg.AssetExecutionContext, data_root: DataRootResource):
        from hispatial_assets.defs.common import upstream_data_versions

        root = data_root.data_root()

        def compute(drop_id: str) -> StageOutput:
            # The rows go to the Parquet file batch by batch; only each batch's summary is kept.
            summaries, images = [], []

            def batches() -> Iterator[pl.DataFrame]:
                for qa in synthesize_level(root, drop_id, level, config, upstream_data_versions(context)):
                    summaries.append(summarize_qa(qa))
                    images.append(qa["image_id"].n_unique())  # batches are disjoint by image
                    yield qa

            sub = (("level", level),)
            streamed = stream_table(root, drop_id, "qa", sub, batches())
            summary = merge_summaries(summaries)
            counts = summary.filter(pl.col("stat") == "rows")
            rows = int(counts["n"].sum())
            return StageOutput({("qa", sub): streamed, ("qa_summary", sub): summary}, rows, {
                "rows": rows, "images": sum(images),
                "per_task_format": dg.MetadataValue.md(_counts_md(counts.select("task", "format", "n")))})

        yield from run_stage(context, root, compute, backend=config.identity())

    return qa_level


def _counts_md(counts: pl.DataFrame) -> str:
    lines = ["| task | format | rows |", "|---|---|---|"]
    lines += [f"| {t} | {f} | {n} |" for t, f, n in counts.iter_rows()]
    return "\n".join(lines)


def balance_violations(balance: pl.DataFrame) -> list[str]:
    """Shares off their expectation by more than 5 points or 3 binomial standard errors, whichever is larger."""
    bad = []
    for row in balance.iter_rows(named=True):
        n, p = row["n"], row["expected"]
        if n < 20:
            continue
        tol = max(0.05, 3 * math.sqrt(p * (1 - p) / n))
        if abs(row["share"] - p) > tol:
            bad.append(f"{row['task']} {row['format']} {row['key']}: {row['share']:.2f} vs {p:.2f} (n={n})")
    return bad


def build_qa_check(level: int, config: QAConfig) -> dg.AssetChecksDefinition:
    @drop_check(asset=f"qa_l{level}", name="answers_rederived", blocking=True,
                    description="Reads every question back from its text (qa/reader.py, independent of the "
                    "generators), recomputes its answer from the stored objects / point maps and checks the answer "
                    "text, answer_value, options and letter, object_ids and the margins; re-runs the program "
                    "column (qa/verify.py); checks yes/no and choice-letter balance. Blocks downstream "
                    "materialization on any failure or unread row. One result per drop.")
    def answers_rederived(context: dg.AssetCheckExecutionContext, data_root: DataRootResource) -> dg.AssetCheckResult:
        root = data_root.data_root()
        drop_id = context.op_execution_context.partition_key
        qa = read_table(root, "qa", drop_id, level=level)
        verdicts = verify_drop(root, drop_id, config, levels=(level,))
        failed = verdicts.filter(~pl.col("holds"))
        programs = verify_qa(qa, read_table(root, "objects", drop_id),
                             point_maps=point_map_loader(root, drop_id) if level == 0 else None)
        balance = balance_violations(format_balance(qa))
        meta = {"drop": drop_id, "rows": len(qa), "read": int(verdicts["read"].sum()), "failed": len(failed),
                "program_mismatches": len(programs), "balance_violations": len(balance),
                "coverage": dg.MetadataValue.md(_coverage_md(coverage(verdicts)))}
        if len(failed):
            meta["first_failures"] = dg.MetadataValue.md("\n".join(
                f"- {r['qa_id']} ({r['task']}/{r['format']}): {r['reason']}" for r in failed.head(10).iter_rows(named=True)))
        if len(programs):
            meta["first_program_mismatches"] = dg.MetadataValue.md("\n".join(
                f"- {r['qa_id']} ({r['task']}/{r['format']}): {r['reason']}" for r in programs.head(10).iter_rows(named=True)))
        if balance:
            meta["balance"] = dg.MetadataValue.md("\n".join(f"- {b}" for b in balance))
        passed = not len(failed) and not len(programs) and not balance
        problems = [f"{n} {what}" for n, what in ((len(failed), "rows failed"), (len(programs), "program mismatches"),
                                                  (len(balance), "balance violations")) if n]
        return dg.AssetCheckResult(passed=passed, metadata=meta, description=f"drop {drop_id}: " + (
            ", ".join(problems) if problems else f"all {len(qa)} rows read back and checked"))

    return answers_rederived


def _coverage_md(cov: pl.DataFrame) -> str:
    lines = ["| task | format | rows | read | failed | coverage |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['task']} | {r['format']} | {r['rows']} | {r['read']} | {r['failed']} | {r['coverage_pct']}% |"
              for r in cov.iter_rows(named=True)]
    return "\n".join(lines)


@dg.asset(deps=[dg.AssetDep(f"qa_l{lv}", partition_mapping=dg.AllPartitionMapping()) for lv in range(4)],
          code_version=QA_VERSION, group_name="qa", kinds={"duckdb"}, pool="catalog_writer",
          automation_condition=dg.AutomationCondition.eager(),
          description="SQL (sql/qa_stats.sql) over all QA: counts by level, task, format; answer distributions. "
          "Reads the per-drop summaries the QA levels write (qa_summary), compacted into one file, never the rows. "
          "The last step of every drop run (drop_pipeline), so it is current once a drop's run has succeeded.")
def qa_stats(context: dg.AssetExecutionContext, data_root: DataRootResource) -> dg.MaterializeResult:
    root = data_root.data_root()
    # Two drop runs end at about the same time: one qa_stats at a time, so the one that reads last also
    # writes last and the file never goes back to a count without the newer drop (and one compaction
    # of the summaries at a time).
    with FileLock(root.catalog_path() + ".qa_stats.lock", timeout=600):
        return write_qa_stats(context, root)


def write_qa_stats(context: dg.AssetExecutionContext, root) -> dg.MaterializeResult:
    started = now()
    summaries, reread = compact_summaries(root)
    stats = qa_statistics(summaries, "qa_yes_share")
    counts, yes = stats["qa_counts"], stats["qa_yes_share"]
    data, uri = io.parquet_bytes(counts), io.join(root.root, "tables", "qa_stats", "counts.parquet")
    io.write_bytes(uri, data)
    md = ["| level | task | format | rows |", "|---|---|---|---|"] + [
        f"| {r['level']} | {r['task']} | {r['format']} | {r['n']} |" for r in counts.iter_rows(named=True)]
    return finish(context, root, data_version=io.sha256_bytes(data), rows=int(counts["n"].sum() or 0), started_at=started,
                  outputs=[file_record("qa_stats", uri, data)],
                  metadata={"total_rows": int(counts["n"].sum() or 0), "counts": dg.MetadataValue.md("\n".join(md)),
                            "summary_files_reread": reread, "drops": summaries["drop_id"].n_unique(),
                            "yes_share": dg.MetadataValue.json({f"{r['task']}": round(r["yes_share"], 3) for r in yes.iter_rows(named=True)})})
