"""`qspatial`: Q-Spatial Bench (metric distances and sizes, free-form answers), both splits.

Files (andrewliao11/Q-Spatial-Bench): one file per split, ``QSpatial_plus*`` and ``QSpatial_scannet*``
(``.parquet``, ``.jsonl`` or ``.json``, found anywhere under the folder); records ``question,
answer_value, answer_unit, question_type, image`` (an image struct, base64 or a path). Success when
max(pred / gt, gt / pred) < 2 after conversion to meters (a unitless number reads as meters). Scores
per split, per question type, overall, and ``split_avg`` (the mean of the two splits' success rates).
"""

from __future__ import annotations

from hispatial_assets.evaluation.scoring import mean_by_category, ratio_success, with_macro_average
from hispatial_assets.evaluation.task import BenchmarkDataNotFound, Item, ScoreRow, Task, find_file, register_task
from hispatial_assets.evaluation.tasks.common import image_field, read_records
from hispatial_assets.qa.parse import parse_length

SPLITS = ("QSpatial_plus", "QSpatial_scannet")
EXTS = ("parquet", "jsonl", "json")


def load(folder: str) -> list[Item]:
    items = []
    found = 0
    for split in SPLITS:
        try:
            uri = find_file("qspatial", folder, [f"**/{split}*.{ext}" for ext in EXTS])
        except BenchmarkDataNotFound:
            continue
        found += 1
        for k, r in enumerate(read_records(uri)):
            truth = parse_length(f"{r['answer_value']} {r['answer_unit']}")
            image = r.get("image")
            image = image_field(image, folder, base64_text=isinstance(image, str) and len(image) > 1024)
            items.append(Item(id=f"{split}/{r.get('id', k)}", question=str(r["question"]), answer=truth, kind="length",
                              categories=(split, str(r.get("question_type", "unknown"))), image=image,
                              meta={"unit": r["answer_unit"], "value": r["answer_value"]}))
    if not found:
        raise BenchmarkDataNotFound("qspatial", folder, "the benchmark's folder to a copy of the published files",
                                    expected=" and ".join(f"{s}*.parquet|jsonl|json" for s in SPLITS))
    return items


def aggregate(items, scores) -> list[ScoreRow]:
    return with_macro_average(mean_by_category(items, scores), "split_avg", SPLITS)


@register_task("qspatial")
def qspatial() -> Task:
    return Task(name="qspatial", load=load, to_prompt=lambda it: it.question,
                parse=lambda text, it: parse_length(text),
                score=lambda it, v: ratio_success(v, it.answer), aggregate=aggregate,
                description="Q-Spatial (plus, scannet): success when max(pred/gt, gt/pred) < 2")
