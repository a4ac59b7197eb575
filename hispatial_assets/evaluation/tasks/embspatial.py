"""`embspatial`: EmbSpatial-Bench, multiple choice over six spatial relations (embodied scenes).

Files (FlagEval/EmbSpatial-Bench): ``embspatial_bench.json`` (or any ``*.json`` / ``*.jsonl`` /
``*.parquet``); records ``question_id, question, answer_options, answer`` (the correct option's index,
or its letter), ``relation``, ``image`` (base64 text, an image struct or a path), ``data_source``.
Score: accuracy, overall and per relation.
"""

from __future__ import annotations

from hispatial_assets.evaluation.scoring import mean_by_category
from hispatial_assets.evaluation.task import Item, Task, find_file, register_task
from hispatial_assets.evaluation.tasks.common import (LETTERS, choice_prompt, image_field, parse_letter,
                                                      read_records, score_letter)

FILES = ("embspatial_bench.json", "*.jsonl", "*.json", "*.parquet")


def _letter(answer, n: int) -> str:
    s = str(answer).strip().strip("()")
    if s.isdigit() and int(s) < n:
        return LETTERS[int(s)]
    return s.upper()


def load(folder: str) -> list[Item]:
    items = []
    for k, r in enumerate(read_records(find_file("embspatial", folder, FILES))):
        options = tuple(str(o) for o in r["answer_options"])
        image = r.get("image")
        image = image_field(image, folder, base64_text=isinstance(image, str) and len(image) > 1024)
        items.append(Item(id=str(r.get("question_id", k)), question=str(r["question"]), answer=_letter(r["answer"], len(options)),
                          kind="choice", categories=(str(r.get("relation", "unknown")).lower(),), image=image,
                          options=options, meta={"data_source": r.get("data_source")}))
    return items


@register_task("embspatial")
def embspatial() -> Task:
    return Task(name="embspatial", load=load, to_prompt=choice_prompt, parse=parse_letter, score=score_letter,
                aggregate=lambda items, scores: mean_by_category(items, scores),
                description="EmbSpatial-Bench: choice accuracy over six relations")
