"""Row accumulation and the balanced format machinery shared by every task generator.

Rows are collected as column lists and become one polars frame at the end (no per-row dicts).
Boolean questions alternate yes/no from a random start, so every task is 50/50 per image up to one
row; choice answers take their letter from shuffled blocks of all letters, so every letter is used
equally per block of k questions (k = number of options).
"""

from __future__ import annotations

import json
import random

import pyarrow as pa
import polars as pl

from hispatial_assets.schema import QA

LETTERS = "ABCD"


class Rows:
    """Column lists of QA rows; segments record which image and level each run of rows belongs to."""

    __slots__ = ("task", "fmt", "question", "answer", "value", "oids", "program", "reasoning", "segments")

    def __init__(self) -> None:
        self.task: list[str] = []
        self.fmt: list[str] = []
        self.question: list[str] = []
        self.answer: list[str] = []
        self.value: list[str] = []
        self.oids: list[list[int]] = []
        self.program: list[str | None] = []
        self.reasoning: list[str | None] = []
        self.segments: list[tuple[int, str, str, int, str]] = []  # (end, drop, image, level, versions)

    def add(self, task: str, fmt: str, question: str, answer: str, value: str, oids: list[int],
            program: str, reasoning: str | None = None) -> None:
        self.task.append(task)
        self.fmt.append(fmt)
        self.question.append(question)
        self.answer.append(answer)
        self.value.append(value)
        self.oids.append(oids)
        self.program.append(program)
        self.reasoning.append(reasoning)

    def __len__(self) -> int:
        return len(self.task)

    def close_segment(self, drop_id: str, image_id: str, level: int, input_versions: str) -> None:
        """The rows added since the previous segment belong to this image and level."""
        self.segments.append((len(self.task), drop_id, image_id, level, input_versions))

    def frame(self) -> pl.DataFrame:
        drop, image, level, versions, qa_id = [], [], [], [], []
        begin = 0
        for end, d, i, lvl, v in self.segments:
            k = end - begin
            drop += [d] * k
            image += [i] * k
            level += [lvl] * k
            versions += [v] * k
            prefix = f"{i}-L{lvl}-"
            qa_id += [f"{prefix}{j:04d}" for j in range(k)]
            begin = end
        offsets = [0]
        flat: list[int] = []
        for ids in self.oids:
            flat += ids
            offsets.append(len(flat))
        oids = pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(flat, pa.int32()))
        return pl.DataFrame(
            {
                "drop_id": drop, "image_id": image, "qa_id": qa_id,
                "level": pl.Series(level, dtype=pl.Int32),
                "task": self.task, "format": self.fmt, "question": self.question, "answer": self.answer,
                "answer_value": self.value, "object_ids": pl.Series(oids), "input_versions": versions,
                "program": pl.Series(self.program, dtype=pl.String),
                "reasoning": pl.Series(self.reasoning, dtype=pl.String),
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
        if not q:
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


def jstr(s: str) -> str:
    """A JSON string literal."""
    if '"' in s or "\\" in s or not s.isascii() or any(c < " " for c in s):
        return json.dumps(s)
    return f'"{s}"'


def place(truth: str, distractors: list[str], pos: int) -> list[str]:
    """Options with the truth at position ``pos`` and the distractors, in order, elsewhere."""
    opts = list(distractors)
    opts.insert(pos, truth)
    return opts


def choice_text(stem: str, options: list[str]) -> str:
    return stem + "".join(f"\n{LETTERS[i]}. {o}" for i, o in enumerate(options))


def choice_value(pos: int, options_json: list[str], extra: str = "") -> str:
    return f'{{"choice": "{LETTERS[pos]}", "options": [{", ".join(options_json)}]{extra}}}'


def cap1(s: str) -> str:
    return s[:1].upper() + s[1:] if s else s


YES_NO = ("No", "Yes")
BOOL_JSON = ('{"bool": false}', '{"bool": true}')
