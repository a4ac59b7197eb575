import json
import os

import duckdb
import polars as pl

from hispatial_assets.qa.export import export_hf_parquet, export_llava_json

SQL = os.path.join(os.path.dirname(__file__), "..", "..", "sql", "qa_stats.sql")  # reads qa_summary


def _tables(qa):
    keys = qa.select("drop_id", "image_id").unique(maintain_order=True)
    images = keys.with_columns((pl.lit("/data/") + pl.col("image_id") + ".png").alias("uri"))
    pms = keys.with_columns((pl.lit("/data/") + pl.col("image_id") + ".npz").alias("uri"))
    return images, pms


def test_hf_parquet_export_loads_with_datasets(qa, tmp_path):
    os.environ["HF_DATASETS_OFFLINE"] = "1"
    import datasets

    images, pms = _tables(qa)
    out = str(tmp_path / "qa.parquet")
    export_hf_parquet(qa, images, pms, out, levels=[2, 3], tasks=None)
    ds = datasets.load_dataset("parquet", data_files=out, split="train", cache_dir=str(tmp_path / "cache"))
    n = len(qa.filter(pl.col("level").is_in([2, 3])))
    assert len(ds) == n
    row = ds[0]
    assert set(["image", "point_map", "conversations", "level", "task", "format", "answer_value"]) <= set(ds.column_names)
    assert row["conversations"][0]["from"] == "human" and row["conversations"][0]["value"].startswith("<image>\n")
    assert row["conversations"][1]["from"] == "gpt"
    assert row["image"].endswith(".png") and row["point_map"].endswith(".npz")
    json.loads(row["answer_value"])


def test_llava_json_export_filters_tasks(qa, tmp_path):
    images, _ = _tables(qa)
    out = str(tmp_path / "qa.json")
    export_llava_json(qa, images, out, tasks=["distance"])
    data = json.loads(open(out).read())
    assert len(data) == len(qa.filter(pl.col("task") == "distance"))
    rec = data[0]
    assert set(rec) >= {"id", "image", "conversations"}
    assert rec["conversations"][0]["value"].startswith("<image>\n") and rec["conversations"][1]["from"] == "gpt"


def test_qa_stats_sql_ends_with_per_level_task_format_counts(qa):
    from hispatial_assets.qa.summary import summarize_qa

    con = duckdb.connect()
    con.register("summary_frame", summarize_qa(qa).to_arrow())
    con.execute("CREATE VIEW qa_summary AS SELECT * FROM summary_frame")
    statements = [s for s in open(SQL).read().split(";") if s.strip() and not all(
        line.strip().startswith("--") or not line.strip() for line in s.splitlines())]
    for s in statements[:-1]:
        con.execute(s)
    last = pl.from_arrow(con.execute(statements[-1]).to_arrow_table())
    assert list(last.columns[:4]) == ["level", "task", "format", "n"]
    assert last["n"].sum() == len(qa)
    yes = pl.from_arrow(con.execute("SELECT * FROM qa_yes_share").to_arrow_table())
    assert ((yes["yes_share"] - 0.5).abs() <= 0.05).all()
    letters = pl.from_arrow(con.execute("SELECT * FROM qa_choice_letters").to_arrow_table())
    assert ((letters["share"] - 1.0 / letters["n_options"]).abs() <= 0.05).all()
    q = pl.from_arrow(con.execute("SELECT * FROM qa_numeric_quantiles").to_arrow_table())
    assert "distance" in q["task"].to_list()
    assert len(con.execute("SELECT * FROM qa_counts_by_drop").to_arrow_table()) > 0
