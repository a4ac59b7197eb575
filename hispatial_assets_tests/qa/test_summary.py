"""qa_stats from the per-drop summaries (sql/qa_stats.sql over qa_summary) says what the same
statistics computed from the rows say (sql/qa_stats_from_rows.sql over qa)."""

from pathlib import Path

import duckdb
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from hispatial_assets.qa.summary import merge_summaries, summarize_qa

SQL = Path(__file__).resolve().parents[2] / "sql"
VIEWS = ["qa_counts_by_drop", "qa_yes_share", "qa_choice_letters", "qa_numeric_quantiles", "qa_counts"]


def statistics(script: str, **tables: pl.DataFrame) -> dict[str, pl.DataFrame]:
    con = duckdb.connect()
    for name, frame in tables.items():
        con.register(f"{name}_frame", frame.to_arrow())
        con.execute(f"CREATE VIEW {name} AS SELECT * FROM {name}_frame")
    for statement in con.extract_statements((SQL / script).read_text()):
        con.execute(statement.query)
    return {view: pl.from_arrow(con.execute(f"SELECT * FROM {view}").to_arrow_table()) for view in VIEWS}


@pytest.fixture(scope="module")
def rows(qa, qa_mixed) -> pl.DataFrame:
    """Three drops that share image ids (as real drops do), one of them with mixed units."""
    return pl.concat([qa.with_columns(drop_id=pl.lit("a")), qa_mixed.with_columns(drop_id=pl.lit("b")),
                      qa.filter(pl.col("level") >= 2).with_columns(drop_id=pl.lit("c"))])


def per_partition_summaries(rows: pl.DataFrame) -> pl.DataFrame:
    """What the qa_l* assets write: one summary per drop and level."""
    return pl.concat([summarize_qa(part) for _, part in rows.group_by("drop_id", "level", maintain_order=True)])


def test_statistics_from_the_summaries_equal_those_from_the_rows(rows):
    from_rows = statistics("qa_stats_from_rows.sql", qa=rows)
    from_summaries = statistics("qa_stats.sql", qa_summary=per_partition_summaries(rows))
    for view in ("qa_counts_by_drop", "qa_yes_share", "qa_choice_letters", "qa_counts"):
        assert_frame_equal(from_summaries[view], from_rows[view], check_dtypes=False)
    assert from_rows["qa_counts"]["n"].sum() == len(rows)
    assert from_rows["qa_counts"]["images"].max() > rows["image_id"].n_unique()  # (drop, image) pairs counted

    exact, binned = from_rows["qa_numeric_quantiles"], from_summaries["qa_numeric_quantiles"]
    assert_frame_equal(binned.select("level", "task", "n", "min_m", "max_m"),
                       exact.select("level", "task", "n", "min_m", "max_m"), check_dtypes=False)
    for column in ("p25_m", "median_m", "p75_m"):  # from centimetre bins: off by half a centimetre at most
        assert ((binned[column] - exact[column]).abs() <= 0.005 + 1e-9).all(), column
    assert len(exact) >= 4 and (exact["n"] > 20).all()


def test_a_drop_missing_from_the_summaries_shows_in_every_statistic(rows):
    """Mutation: the summaries are read, not the rows; losing one drop's level 2 changes the result."""
    summaries = per_partition_summaries(rows).filter(~((pl.col("drop_id") == "b") & (pl.col("level") == 2)))
    damaged = statistics("qa_stats.sql", qa_summary=summaries)
    truth = statistics("qa_stats_from_rows.sql", qa=rows)
    assert damaged["qa_counts"]["n"].sum() < truth["qa_counts"]["n"].sum()
    assert not damaged["qa_choice_letters"].equals(truth["qa_choice_letters"])


def test_qa_generated_batch_by_batch_is_the_same_frame_as_in_one_call(images):
    """The qa_l* assets generate 64 images at a time to bound memory: the rows must not change."""
    from hispatial_assets.qa import QAConfig, generate_all
    from hispatial_assets.qa.inputs import in_batches

    config = QAConfig(seed=7)
    for level in range(4):
        whole = generate_all(images, config, levels=(level,))
        batched = pl.concat([generate_all(batch, config, levels=(level,)) for batch in in_batches(images, 5)])
        assert_frame_equal(batched, whole)
        assert len(whole) > 0


def test_qa_stats_compaction_rereads_only_changed_summaries_and_forgets_removed_drops(rows, data_root):
    """The qa_stats asset's path: per-drop summary files -> one compacted file -> the statistics."""
    import shutil

    from hispatial_assets.catalog.qa_stats import compact_summaries, qa_statistics
    from hispatial_assets.storage import io

    def write(frame: pl.DataFrame) -> None:
        for (drop_id, level), part in frame.group_by("drop_id", "level", maintain_order=True):
            io.write_parquet(data_root.table_uri("qa_summary", drop_id, level=level), summarize_qa(part))

    def same_as_rows(summaries: pl.DataFrame, frame: pl.DataFrame) -> None:
        got = qa_statistics(summaries, "qa_choice_letters")
        want = statistics("qa_stats_from_rows.sql", qa=frame)
        assert_frame_equal(got["qa_counts"], want["qa_counts"], check_dtypes=False)
        assert_frame_equal(got["qa_choice_letters"], want["qa_choice_letters"], check_dtypes=False)

    first = rows.filter(pl.col("drop_id") != "c")
    write(first)
    summaries, reread = compact_summaries(data_root)
    assert reread == first.select("drop_id", "level").n_unique()
    same_as_rows(summaries, first)
    assert compact_summaries(data_root)[1] == 0  # nothing new: nothing reread

    changed_a2 = rows.filter((pl.col("drop_id") == "a") & (pl.col("level") == 2)).head(100)
    now = pl.concat([rows.filter(~((pl.col("drop_id") == "a") & (pl.col("level") == 2))), changed_a2])
    write(changed_a2)
    write(rows.filter(pl.col("drop_id") == "c"))
    summaries, reread = compact_summaries(data_root)
    assert reread == 1 + rows.filter(pl.col("drop_id") == "c")["level"].n_unique()
    same_as_rows(summaries, now)

    shutil.rmtree(data_root.table_dir("qa_summary") + "/drop_id=b")
    summaries, _ = compact_summaries(data_root)
    assert sorted(summaries["drop_id"].unique()) == ["a", "c"]
    same_as_rows(summaries, now.filter(pl.col("drop_id") != "b"))


def test_the_merged_summaries_of_batches_are_the_summary_of_their_rows(qa):
    """qa_l* summarize each batch of images and merge (defs/qa.py): the same rows as summarizing the drop."""
    image_ids = qa["image_id"].unique(maintain_order=True).to_list()
    batches = [qa.filter(pl.col("image_id").is_in(image_ids[i:i + 5])) for i in range(0, len(image_ids), 5)]
    assert len(batches) == 5
    merged = merge_summaries([summarize_qa(b) for b in batches])
    assert_frame_equal(merged, summarize_qa(qa))
    rows = merged.filter(pl.col("stat") == "rows")
    assert rows["images"].max() == len(image_ids)  # added across batches: each image counted once
    assert set(merged["stat"]) == {"rows", "yes", "letter", "meters_cm", "min", "max"}


def test_merging_batches_that_share_images_counts_them_twice(qa):
    """Mutation: ``images`` adds across parts, which is right only for disjoint parts; the same rows
    twice give twice the counts, and the extremes stay the extremes."""
    merged = merge_summaries([summarize_qa(qa), summarize_qa(qa)])
    truth = summarize_qa(qa)
    assert (merged["n"] == 2 * truth["n"]).all()
    rows = merged.filter(pl.col("stat") == "rows")
    assert rows["images"].max() == 2 * qa["image_id"].n_unique()
    extremes = pl.col("stat").is_in(["min", "max"])
    assert_frame_equal(merged.filter(extremes).select("value"), truth.filter(extremes).select("value"))
