"""Row accumulation and the balanced format machinery shared by every task generator.

Generators add one row per question (`Rows.add`, by column name); the rows become one polars frame at
the end. Boolean questions alternate yes/no from a random start, so every task is 50/50 per image up
to one row; choice answers take their letter from shuffled blocks of all letters, so every letter is
used equally per block of k questions (k = number of options).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import polars as pl

from hispatial_assets.qa.answers import Answer
from hispatial_assets.qa.rand import shuffle
from hispatial_assets.schema import QA


class Segment(NamedTuple):
    """The rows before ``end`` (and after the previous segment) belong to this image and level."""

    end: int
    drop_id: str
    image_id: str
    level: int
    input_versions: str


# The columns of schema.QA that generators decide, in the order `Rows` keeps them; `Rows.frame` adds
# the ids, level and input versions.
ROW_COLUMNS = ("task", "format", "question", "answer", "answer_value", "object_ids", "program", "reasoning")
_TASK, _QUESTION = ROW_COLUMNS.index("task"), ROW_COLUMNS.index("question")


class Rows:
    """The QA rows of many images and levels, in order (one tuple of ROW_COLUMNS per row), and the
    segments that say which image and level each run of rows belongs to."""

    def __init__(self) -> None:
        self.rows: list[tuple] = []
        self.segments: list[Segment] = []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, task: str, fmt: str, *, question: str, answer: Answer, object_ids: list[int], program: str,
            reasoning: str | None = None) -> None:
        self.rows.append((task, fmt, question, answer.text, answer.value, object_ids, program, reasoning))

    def questions(self) -> Iterator[tuple[int, str, str]]:
        """(row number, task, question) of every row."""
        for i, row in enumerate(self.rows):
            yield i, row[_TASK], row[_QUESTION]

    def set_question(self, i: int, question: str) -> None:
        row = self.rows[i]
        self.rows[i] = (*row[:_QUESTION], question, *row[_QUESTION + 1:])

    def close_segment(self, drop_id: str, image_id: str, level: int, input_versions: str) -> None:
        """The rows added since the previous segment belong to this image and level."""
        self.segments.append(Segment(len(self), drop_id, image_id, level, input_versions))

    def frame(self) -> pl.DataFrame:
        n = len(self)
        segments = pl.DataFrame(self.segments, schema={"end": pl.Int64, "drop_id": pl.String, "image_id": pl.String,
                                                       "level": pl.Int32, "input_versions": pl.String}, orient="row")
        ends = segments["end"].to_numpy()
        lengths = np.diff(ends, prepend=0)
        per_row = segments[pl.Series(np.repeat(np.arange(len(ends)), lengths))] if n else segments.clear()
        # qa_id "<drop>/<image>-L<level>-NNNN": NNNN is the row's number within its segment; unique across
        # the catalog (drop ids hold no '/', image ids are unique within their drop)
        number = np.arange(n, dtype=np.int64) - np.repeat(ends - lengths, lengths)
        qa_id = per_row.select(
            pl.format("{}/{}-L{}-{}", "drop_id", "image_id", "level", pl.Series(number).cast(pl.String).str.zfill(4))
        ).to_series()
        columns = dict(zip(ROW_COLUMNS, map(list, zip(*self.rows)))) if n else {c: [] for c in ROW_COLUMNS}
        return pl.DataFrame(
            {
                "drop_id": per_row["drop_id"], "image_id": per_row["image_id"], "qa_id": qa_id,
                "level": per_row["level"], "task": columns["task"], "format": columns["format"],
                "question": columns["question"], "answer": columns["answer"], "answer_value": columns["answer_value"],
                "object_ids": pl.Series(pa.array(columns["object_ids"], pa.list_(pa.int32()))),
                "input_versions": per_row["input_versions"],
                "program": pl.Series(columns["program"], dtype=pl.String),
                "reasoning": pl.Series(columns["reasoning"], dtype=pl.String),
            },
            schema=QA,
        )


class Balance:
    """Per (image, task) plan of boolean targets and choice letters."""

    __slots__ = ("rnd", "_yes", "_letters")

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self._yes = rnd.random() < 0.5
        self._letters: dict[int, list[int]] = {}

    def target(self) -> bool:
        """The truth the next boolean question must have (alternating)."""
        self._yes = not self._yes
        return self._yes

    def letter(self, k: int = 4) -> int:
        """Position of the correct option among k (balanced in blocks of k)."""
        q = self._letters.get(k)
        if q:
            return q.pop()
        q = list(range(k))
        shuffle(self.rnd, q)
        self._letters[k] = q
        return q.pop()

    def unletter(self, pos: int, k: int = 4) -> None:
        """Give back a letter taken for a question that could not be built."""
        self._letters.setdefault(k, []).append(pos)

    def untarget(self) -> None:
        """Give back a boolean target taken for a question that could not be built."""
        self._yes = not self._yes
