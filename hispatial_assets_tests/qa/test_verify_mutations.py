"""`hispatial verify` on a real demo catalog flags exactly the rows a reviewer corrupts, in each way a
generator bug would: two named objects swapped in the text, option texts swapped under a kept letter,
a wrong answer text, a wrong object id, a flipped yes/no, a changed move in a multi-step problem.

Each test corrupts some rows of the catalog's QA tables and asserts that `verify` fails on exactly those
rows (so it also shows every untouched row still reads and holds)."""

from __future__ import annotations

import json
import re

import polars as pl
import pytest

from hispatial_assets.cli.commands import main
from hispatial_assets.storage import io
from hispatial_assets.storage.layout import DataRoot
from hispatial_assets.storage.tables import read_table

from .recompute import Recompute, check_row

DROP = "demo_000"


@pytest.fixture(scope="module")
def catalog(tmp_path_factory):
    """A one-drop demo (two images, the default estimated path) that `verify` passes untouched."""
    root = str(tmp_path_factory.mktemp("mutations") / "root")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAGSTER_HOME", str(tmp_path_factory.mktemp("dagster_home")))
        mp.delenv("HISPATIAL_ROOT", raising=False)
        assert main(["demo", "--drops", "1", "--images", "2", "--root", root]) == 0
    return DataRoot.resolve(root)


def _flagged(root: DataRoot, capsys) -> tuple[int, set[str]]:
    capsys.readouterr()
    code = main(["verify", "--root", root.root, "--show", "100000"])
    out = capsys.readouterr().out
    return code, set(re.findall(r"^FAILED (\S+) ", out, re.MULTILINE))


@pytest.fixture
def qa(catalog, capsys):
    """The catalog's QA as one frame, and ``verify_with(changes)``: write the rows changed as given
    ({qa_id: {column: value}}), run `verify`, return (exit code, flagged qa_ids). Restores the tables."""
    assert _flagged(catalog, capsys) == (0, set())
    uris = {lv: catalog.table_uri("qa", DROP, level=lv) for lv in range(4)}
    saved = {lv: io.read_bytes(u) for lv, u in uris.items()}
    frame = pl.concat([read_table(catalog, "qa", DROP, level=lv) for lv in range(4)])

    def verify_with(changes: dict[str, dict]) -> tuple[int, set[str]]:
        rows = frame.to_dicts()
        for row in rows:
            row.update(changes.get(row["qa_id"], {}))
        corrupted = pl.DataFrame(rows, schema=frame.schema)
        for lv, uri in uris.items():
            io.write_parquet(uri, corrupted.filter(pl.col("level") == lv))
        return _flagged(catalog, capsys)

    yield frame, verify_with
    for lv, uri in uris.items():
        io.write_bytes(uri, saved[lv])


def _names(catalog) -> dict[tuple[str, int], str]:
    refs = read_table(catalog, "referrals", DROP)
    return {(r["image_id"], r["object_id"]): r["expression"] for r in refs.iter_rows(named=True)}


def _one_per_task(frame: pl.DataFrame, fmt: str, where=None) -> pl.DataFrame:
    rows = frame.filter(pl.col("format") == fmt)
    if where is not None:
        rows = rows.filter(where)
    return rows.group_by("task", maintain_order=True).first()


def test_swapping_the_two_objects_of_every_direction_yes_no_question_is_flagged(catalog, qa):
    frame, verify_with = qa
    names = _names(catalog)
    rows = frame.filter((pl.col("task") == "direction") & (pl.col("format") == "boolean"))
    changes = {}
    for r in rows.iter_rows(named=True):
        a, b = (names[(r["image_id"], o)] for o in r["object_ids"])
        swap = {a: b, b: a, a[:1].upper() + a[1:]: b[:1].upper() + b[1:], b[:1].upper() + b[1:]: a[:1].upper() + a[1:]}
        pattern = "|".join(re.escape(k) for k in sorted(swap, key=len, reverse=True))
        changes[r["qa_id"]] = {"question": re.sub(pattern, lambda m: swap[m.group(0)], r["question"])}
    assert len(changes) >= 10 and all(c["question"] != q for c, q in zip(changes.values(), rows["question"]))
    assert verify_with(changes) == (1, set(changes))


def test_swapping_two_option_texts_under_the_same_letter_is_flagged(qa):
    frame, verify_with = qa
    changes = {}
    for r in _one_per_task(frame, "choice").iter_rows(named=True):
        av = json.loads(r["answer_value"])
        stem, *lines = r["question"].split("\n")
        pos = "ABCD".index(av["choice"])
        other = (pos + 1) % len(lines)
        texts = [line[3:] for line in lines]
        texts[pos], texts[other] = texts[other], texts[pos]
        av["options"][pos], av["options"][other] = av["options"][other], av["options"][pos]
        # a consistent row: letter, answer text and answer_value all agree with the swapped options
        changes[r["qa_id"]] = {"question": "\n".join([stem] + [f"{'ABCD'[k]}. {t}" for k, t in enumerate(texts)]),
                               "answer": f"{av['choice']}. {texts[pos]}", "answer_value": json.dumps(av)}
    assert len(changes) == 14
    assert verify_with(changes) == (1, set(changes))


def test_a_wrong_answer_text_is_flagged(qa):
    frame, verify_with = qa
    changes = {}
    distance = frame.filter((pl.col("task") == "distance") & (pl.col("format") == "free")).row(0, named=True)
    changes[distance["qa_id"]] = {"answer": "42 m"}  # the reviewer's corruption
    for r in _one_per_task(frame, "free", pl.col("task") != "distance").iter_rows(named=True):
        others = frame.filter((pl.col("task") == r["task"]) & (pl.col("format") == "free")
                              & (pl.col("answer") != r["answer"]) & (pl.col("image_id") == r["image_id"]))
        changes[r["qa_id"]] = {"answer": others["answer"][0]}  # another row's answer to the same task
    assert len(changes) == 14
    assert verify_with(changes) == (1, set(changes))


def test_a_wrong_object_id_is_flagged(qa):
    frame, verify_with = qa
    rows = frame.filter(pl.col("object_ids").list.len() > 0).group_by("task", "format", maintain_order=True).first()
    changes = {r["qa_id"]: {"object_ids": [999999, *r["object_ids"][1:]]} for r in rows.iter_rows(named=True)}
    assert len(changes) == 36  # every L1-L3 task in every format
    assert verify_with(changes) == (1, set(changes))


def test_a_flipped_yes_no_is_flagged(qa):
    frame, verify_with = qa
    changes = {}
    for r in _one_per_task(frame, "boolean").iter_rows(named=True):
        flipped = not json.loads(r["answer_value"])["bool"]
        changes[r["qa_id"]] = {"answer": "Yes" if flipped else "No", "answer_value": json.dumps({"bool": flipped})}
    assert len(changes) == 14
    assert verify_with(changes) == (1, set(changes))


OPPOSITE = {"to the right": "to the left", "to the left": "to the right", "toward the camera": "away from the camera",
            "away from the camera": "toward the camera"}
MOVE = re.compile(r"( \d+(?:\.\d+)? (?:m|cm|inches|feet) )(to the right|to the left|toward the camera|away from the camera)")


def test_a_changed_move_in_a_multi_step_problem_is_flagged_where_it_changes_the_answer(catalog, qa):
    """The move reversed in the text; which answers that makes wrong is decided by the tests' own
    recompute (hispatial_assets_tests/qa/recompute.py) on the program with its move reversed too."""
    frame, verify_with = qa
    objects = read_table(catalog, "objects", DROP)
    changes = {}
    for r in frame.filter((pl.col("task") == "multi_step") & pl.col("program").str.contains("moved")).iter_rows(named=True):
        m = MOVE.search(r["question"])
        question = r["question"][:m.start(2)] + OPPOSITE[m.group(2)] + r["question"][m.end(2):]
        head, args = r["program"].split("\n", 1)[0].split(", ", 1)  # p = moved(oX, dx, dy, dz)
        reversed_move = head + ", " + ", ".join(f"{-float(v):.4f}" for v in args.rstrip(")").split(", ")) + ")"
        program = "\n".join([reversed_move, *r["program"].split("\n")[1:]])
        objs = {o["object_id"]: o for o in objects.filter(pl.col("image_id") == r["image_id"]).iter_rows(named=True)}
        if check_row(r | {"program": program}, Recompute(objs)) is not None:  # the answer no longer holds
            changes[r["qa_id"]] = {"question": question}
    assert len(changes) >= 10
    assert verify_with(changes) == (1, set(changes))
