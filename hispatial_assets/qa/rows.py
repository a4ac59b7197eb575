"""Row accumulation and the balanced format machinery shared by every task generator.

Rows are collected as column lists and become one polars frame at the end (no per-row dicts).
Boolean questions alternate yes/no from a random start, so every task is 50/50 per image up to one
row; choice answers take their letter from shuffled blocks of all letters, so every letter is used
equally per block of k questions (k = number of options).
"""

from __future__ import annotations

import json
import random
import re

import numpy as np

import pyarrow as pa
import polars as pl

from hispatial_assets.schema import QA

LETTERS = "ABCD"


# Rows are kept as one flat list, eight values per row in this order (`Rows.put` takes the tuple):
FIELDS = ("task", "fmt", "question", "answer", "value", "oids", "program", "reasoning")
_NF = len(FIELDS)
_QUESTION = FIELDS.index("question")


class Rows:
    """QA rows as one flat list, eight values per row (see FIELDS; no per-row dicts or calls into
    Python): ``put((task, fmt, question, answer, value, oids, program, reasoning))`` is the flat
    list's bound ``extend``, one C call per row. Segments record which image and level each run of
    rows belongs to."""

    __slots__ = ("flat", "segments", "put")

    def __init__(self) -> None:
        self.flat: list = []
        self.segments: list[tuple[int, str, str, int, str]] = []  # (end, drop, image, level, versions)
        self.put = self.flat.extend

    def __len__(self) -> int:
        return len(self.flat) // _NF

    def column(self, name: str) -> list:
        """One field of every row, as a new list."""
        return self.flat[FIELDS.index(name)::_NF]

    def set_question(self, i: int, question: str) -> None:
        self.flat[i * _NF + _QUESTION] = question

    def close_segment(self, drop_id: str, image_id: str, level: int, input_versions: str) -> None:
        """The rows added since the previous segment belong to this image and level."""
        self.segments.append((len(self), drop_id, image_id, level, input_versions))

    def frame(self) -> pl.DataFrame:
        n = len(self)
        segs = self.segments
        ends = np.array([sg[0] for sg in segs], dtype=np.int64)
        lengths = np.diff(ends, prepend=0)
        seg_of_row = np.repeat(np.arange(len(segs), dtype=np.int64), lengths)
        # row number within its segment, for qa_id "<image>-L<level>-NNNN"
        pos = np.arange(n, dtype=np.int64) - np.repeat(ends - lengths, lengths)
        seg_frame = pl.DataFrame(
            {"drop_id": [sg[1] for sg in segs], "image_id": [sg[2] for sg in segs],
             "level": [sg[3] for sg in segs], "input_versions": [sg[4] for sg in segs]},
            schema={"drop_id": pl.String, "image_id": pl.String, "level": pl.Int32, "input_versions": pl.String},
        )
        per_row = seg_frame[pl.Series(seg_of_row)] if n else seg_frame.clear()
        flat = self.flat
        task, fmt, question, answer, value, oids, program, reasoning = (flat[i::_NF] for i in range(_NF))
        oid_arr = pa.array(oids, pa.list_(pa.int32()))
        qa_id = per_row.select(
            pl.format("{}-L{}-{}", "image_id", "level", pl.Series(pos).cast(pl.String).str.zfill(4))
        ).to_series()
        return pl.DataFrame(
            {
                "drop_id": per_row["drop_id"], "image_id": per_row["image_id"], "qa_id": qa_id,
                "level": per_row["level"],
                "task": task, "format": fmt, "question": question, "answer": answer,
                "answer_value": value, "object_ids": pl.Series(oid_arr), "input_versions": per_row["input_versions"],
                "program": pl.Series(program, dtype=pl.String),
                "reasoning": pl.Series(reasoning, dtype=pl.String),
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
        self.rnd.shuffle(q)
        self._letters[k] = q
        return q.pop()

    def unletter(self, pos: int, k: int = 4) -> None:
        """Give back a letter taken for a question that could not be built."""
        self._letters.setdefault(k, []).append(pos)

    def untarget(self) -> None:
        """Give back a boolean target taken for a question that could not be built."""
        self._yes = not self._yes


_NEEDS_ESCAPE = re.compile(r'["\\\x00-\x1f]')


def jstr(s: str) -> str:
    """A JSON string literal."""
    if not s.isascii() or _NEEDS_ESCAPE.search(s):
        return json.dumps(s)
    return f'"{s}"'


def place(truth: str, distractors: list[str], pos: int) -> list[str]:
    """Options with the truth at position ``pos`` and the distractors, in order, elsewhere."""
    opts = list(distractors)
    opts.insert(pos, truth)
    return opts


def choice_text(stem: str, options: list[str]) -> str:
    if len(options) == 4:
        a, b, c, d = options
        return f"{stem}\nA. {a}\nB. {b}\nC. {c}\nD. {d}"
    if len(options) == 2:
        a, b = options
        return f"{stem}\nA. {a}\nB. {b}"
    return stem + "".join(f"\n{LETTERS[i]}. {o}" for i, o in enumerate(options))


def choice_value(pos: int, options_json: list[str], extra: str = "") -> str:
    return f'{{"choice": "{LETTERS[pos]}", "options": [{", ".join(options_json)}]{extra}}}'


def cap1(s: str) -> str:
    c = s[:1]
    if c.isupper() or not c:  # most templates start with a capital already
        return s
    return c.upper() + s[1:]


YES_NO = ("No", "Yes")
BOOL_JSON = ('{"bool": false}', '{"bool": true}')
