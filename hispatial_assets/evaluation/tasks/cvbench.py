"""`cvbench3d`: CV-Bench, 3D split (depth order and relative distance), multiple choice.

Files (nyu-visionx/CV-Bench): ``test_3d.jsonl`` or ``test_3d.parquet``, else ``test.jsonl`` /
``test.parquet`` filtered to ``type == "3D"``; records ``idx, type, task, question, choices, answer
("(A)"), prompt, filename, source, bbox`` (images under ``img/`` by ``filename``, or embedded in the
Parquet ``image`` column). Score: choice accuracy, overall (the official 3D number: one source,
Omni3D) and per task.
"""

from __future__ import annotations

from hispatial_assets.evaluation.scoring import mean_by_category
from hispatial_assets.evaluation.task import Item, Task, find_file, register_task
from hispatial_assets.evaluation.tasks.common import (choice_prompt, image_field, parse_letter, read_records,
                                                      score_letter)

FILES = ("test_3d.jsonl", "test_3d.parquet", "test.jsonl", "test.parquet")


def load(folder: str) -> list[Item]:
    items = []
    for r in read_records(find_file("cvbench3d", folder, FILES)):
        if str(r.get("type", "3D")).upper() != "3D":
            continue
        letter = str(r["answer"]).strip().strip("()").upper()
        image = image_field(r.get("image"), folder) or image_field(r.get("filename"), folder)
        items.append(Item(id=str(r["idx"]), question=str(r["question"]), answer=letter, kind="choice",
                          categories=(str(r["task"]).lower(),), image=image, options=tuple(str(c) for c in r["choices"]),
                          meta={"source": r.get("source")}))
    return items


@register_task("cvbench3d")
def cvbench3d() -> Task:
    return Task(name="cvbench3d", load=load, to_prompt=choice_prompt, parse=parse_letter, score=score_letter,
                aggregate=lambda items, scores: mean_by_category(items, scores, categories=("depth", "distance")),
                description="CV-Bench 3D (depth, distance): choice accuracy")
