"""Baselines, scored like recipes (`model.recipes.BASELINES`): what they "train" and how they answer.

- ``prior``: the floor. Per (task, format, answer kind) of the spatial training rows: the most common
  answer of discrete kinds (yes/no, letter, count, clock, label, position among the candidates, order)
  and the median of numeric ones (lengths; 3D vectors per coordinate). A question of a task or kind the
  training rows never had falls back to the statistic of its answer kind over all tasks; a kind never
  seen gets no answer (a parse failure).
- ``oracle``: the upper bound. Runs each self-built question's program against the scene's truth.
- ``geometry``: runs the same programs against the data engine's own estimated objects and point map:
  what perfect learning of our data would reach, and what estimation errors cost.

`fit_baseline` writes the baseline's "checkpoint" (a small JSON file); `baseline_answerer` turns it
back into an `answerers.Answerer`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence

import numpy as np
import polars as pl

from hispatial_assets.evaluation import kinds
from hispatial_assets.evaluation.task import Item
from hispatial_assets.model.recipes import BASELINES
from hispatial_assets.storage import io

BASELINE_VERSION = "1"


def fit_baseline(recipe: str, rows: pl.DataFrame, out_dir: str) -> str:
    """Fit baseline ``recipe`` on its sft rows (every qa column plus ``split`` and ``source``; the
    spatial train rows are used) and write ``out_dir/<recipe>.json``; returns its uri."""
    if recipe not in BASELINES:
        raise ValueError(f"{recipe!r} is not a baseline; baselines: {', '.join(BASELINES)}")
    doc: dict = {"baseline": recipe, "version": BASELINE_VERSION, "description": BASELINES[recipe]}
    if recipe == "prior":
        train = rows.filter((pl.col("split") == "train") & (pl.col("source") == "spatial"))
        doc.update(prior_statistics(train))
    return io.write_json(io.join(out_dir, f"{recipe}.json"), doc)


def prior_statistics(rows: pl.DataFrame) -> dict:
    """{"by_task": {"task|format|kind": answer}, "by_kind": {kind: answer}, "rows": n} (see module doc)."""
    by_task: dict[str, list] = {}
    by_kind: dict[str, list] = {}
    for task, fmt, av, oids in rows.select("task", "format", "answer_value", "object_ids").iter_rows():
        kind, value = kinds.reference(json.loads(av), oids)
        by_task.setdefault(f"{task}|{fmt}|{kind}", []).append(value)
        by_kind.setdefault(kind, []).append(value)
    return {"by_task": {k: _typical(k.rsplit("|", 1)[1], v) for k, v in sorted(by_task.items())},
            "by_kind": {k: _typical(k, v) for k, v in sorted(by_kind.items())}, "rows": len(rows)}


def _typical(kind: str, values: list):
    """Median of numeric kinds, else the most common value (ties: the smallest, for determinism)."""
    if kind == "length":
        return float(np.median(values))
    if kind == "xyz":
        return np.median(np.asarray(values, dtype=np.float64), axis=0).tolist()
    counts = Counter(json.dumps(v) for v in values)
    top = max(counts.values())
    return json.loads(min(k for k, c in counts.items() if c == top))


class PriorAnswerer:
    name = "prior"

    def __init__(self, stats: dict):
        self.by_task, self.by_kind = stats.get("by_task", {}), stats.get("by_kind", {})

    def typical(self, item: Item):
        key = f"{item.meta.get('task')}|{item.meta.get('format')}|{item.kind}"
        if key in self.by_task:
            return self.by_task[key]
        return self.by_kind.get(_stat_kind(item.kind))

    def answer(self, items: Sequence[Item]) -> list[str]:
        return [self._say(it, self.typical(it)) for it in items]

    @staticmethod
    def _say(item: Item, value) -> str:
        if value is None:
            return ""
        kind = _stat_kind(item.kind)
        if kind == "choice":
            n = len(item.options) or 4
            return value if value in kinds.LETTERS[:n] else kinds.LETTERS[0]
        if kind == "index" and item.options:
            return kinds.say("index", min(int(value), len(item.options)), item.options)
        if kind == "order":
            n = len(item.options)
            order = value if sorted(value) == list(range(1, n + 1)) else list(range(1, n + 1))
            return kinds.say("order", order, item.options)
        return kinds.say(kind, value, item.options)


def _stat_kind(kind: str) -> str:
    """Published benchmarks' kinds that share our statistics (a yes/no prefix is a bool)."""
    return {"yes_no_prefix": "bool", "region": "index"}.get(kind, kind)


def baseline_answerer(uri: str, root=None):
    """The answerer of a fitted baseline (``root``: the data root, for oracle / geometry worlds)."""
    doc = io.read_json(uri)
    name = doc["baseline"]
    if name == "prior":
        return PriorAnswerer(doc)
    from hispatial_assets.evaluation.programs import ProgramAnswerer
    from hispatial_assets.evaluation.tasks.self_built import estimated_world, truth_world

    if root is None:
        raise ValueError(f"the {name} baseline answers from a data root's scenes; pass root")
    world = truth_world if name == "oracle" else estimated_world
    return ProgramAnswerer(name, lambda drop_id, image_id: world(root, drop_id, image_id))
