"""`robospatial`: RoboSpatial-Home (configuration, compatibility: yes/no; context: point to a free spot).

File: ``annotations.json`` (or any ``*.json`` / ``*.jsonl``), as the published download script writes
it: records ``category, question, answer, img`` (path under the folder). Rules as published: a yes/no
answer is right when it starts with the truth ("yes" / "no", case-insensitive); a context answer is
right when its first (x, y) point (normalized to 0-1) lies inside the ground-truth polygon. An empty
answer or one without a point is a parse failure. Scores per category, overall, and ``category_avg``
(the mean over the three categories, the leaderboard's total).
"""

from __future__ import annotations

import ast

from hispatial_assets.evaluation.scoring import mean_by_category, with_macro_average
from hispatial_assets.evaluation.task import Item, ScoreRow, Task, find_file, register_task
from hispatial_assets.evaluation.tasks.common import image_field, point_in_polygon, read_records
from hispatial_assets.qa.parse import parse_point

FILES = ("annotations.json", "*.json", "*.jsonl")
CATEGORIES = ("configuration", "compatibility", "context")


def load(folder: str) -> list[Item]:
    items = []
    for k, r in enumerate(read_records(find_file("robospatial", folder, FILES))):
        answer = str(r["answer"]).strip()
        if answer.lower() in ("yes", "no"):
            kind, truth = "yes_no_prefix", answer.lower()
        else:
            kind, truth = "point", [tuple(map(float, p)) for p in ast.literal_eval(answer)]
        items.append(Item(id=str(r.get("id", k)), question=str(r["question"]), answer=truth, kind=kind,
                          categories=(str(r.get("category", "unknown")).lower(),), image=image_field(r.get("img"), folder)))
    return items


def parse(text: str, item: Item):
    if item.kind == "point":
        return parse_point(text)
    t = (text or "").strip().lower()
    return t or None


def score(item: Item, value) -> dict[str, float]:
    if item.kind == "point":
        return {"correct": float(point_in_polygon(value[0], value[1], item.answer))}
    return {"correct": float(value.startswith(item.answer))}


def aggregate(items, scores) -> list[ScoreRow]:
    return with_macro_average(mean_by_category(items, scores, categories=CATEGORIES), "category_avg", CATEGORIES)


@register_task("robospatial")
def robospatial() -> Task:
    return Task(name="robospatial", load=load, to_prompt=lambda it: it.question, parse=parse, score=score,
                aggregate=aggregate, description="RoboSpatial-Home: yes/no prefix match; context point in polygon")
