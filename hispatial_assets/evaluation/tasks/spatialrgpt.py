"""`spatialrgpt`: SpatialRGPT-Bench (region-referring spatial questions, free-form answers).

File: ``val_SpatialRGPT-Bench.jsonl`` (or any ``*.jsonl`` / ``*.json``); records ``id``,
``image_info {file_path, height, width}``, ``text_q`` (the question with ``Region [k]`` names),
``conversations`` (``<mask>`` region tokens; the gpt turn is the reference answer), ``qa_info {type,
category}``, ``bbox`` (one ``[x1, y1, x2, y2]`` per region, pixels) and ``rle`` (their masks).

Regions are given to the model BY BOX, in the form its training data uses for objects: every
``Region [k]`` becomes "the object in the box [x0, y0, x1, y1]" with the box on the 0-1000 grid
(`perception.referral.common.fallback_expression`). Nothing is drawn on the image.

Scoring, deterministic (no LLM judge; the published script asks GPT-4 to extract the numbers):
quantitative distances and sizes succeed when 0.75·gt ≤ pred ≤ 1.25·gt after conversion to meters
(plus the absolute relative error); directions when the clock hours differ by at most one; qualitative
predicates by yes/no; qualitative choices by which region the answer names first. Categories as
published: quantitative (direct_distance, horizontal_distance, vertical_distance, width, height,
direction) and qualitative (tall/short, left/right, below/above, behind/front, big/small, wide/thin).
"""

from __future__ import annotations

import re

import numpy as np

from hispatial_assets.evaluation.scoring import mean_by_category, relative_success
from hispatial_assets.evaluation.task import Item, Task, find_file, register_task
from hispatial_assets.evaluation.tasks.common import image_field, read_records
from hispatial_assets.perception.referral.common import fallback_expression
from hispatial_assets.qa.parse import parse_bool, parse_clock, parse_length

FILES = ("val_SpatialRGPT-Bench.jsonl", "*.jsonl", "*.json")
QUANTITATIVE = {"distance_data": "direct_distance", "horizontal_distance_data": "horizontal_distance",
                "vertical_distance_data": "vertical_distance", "width_data": "width", "height_data": "height",
                "direction": "direction"}
QUALITATIVE = (("tall", "short", "tall/short"), ("left", "right", "left/right"), ("below", "above", "below/above"),
               ("behind", "front", "behind/front"), ("big", "small", "big/small"), ("wide", "thin", "wide/thin"))
CATEGORY_ORDER = ("quantitative", *QUANTITATIVE.values(), "qualitative", *(g for _, _, g in QUALITATIVE))
_REGION = re.compile(r"\bregion\s*\[\s*(\d+)\s*\]", re.IGNORECASE)
_BRACKETS = re.compile(r"\[[^\]]*\]")


def _group(category: str) -> str:
    if category in QUANTITATIVE:
        return QUANTITATIVE[category]
    for a, b, group in QUALITATIVE:
        if a in category or b in category:
            return group
    return category


def _reference_text(r: dict) -> str:
    turns = r.get("conversations") or []
    answers = [t["value"] for t in turns if t.get("from") in ("gpt", "assistant")]
    return str(answers[0] if answers else r.get("answer", ""))


def load(folder: str) -> list[Item]:
    items = []
    for r in read_records(find_file("spatialrgpt", folder, FILES)):
        info, qa = r["image_info"], r["qa_info"]
        width, height = int(info["width"]), int(info["height"])
        boxes = [fallback_expression("object", np.asarray(b, dtype=np.float64), width, height) for b in r.get("bbox") or []]
        gt = _reference_text(r)
        category = str(qa["category"])
        if qa["type"] == "quantitative":
            kind, truth = ("clock", parse_clock(gt)) if category == "direction" else ("length", parse_length(_strip(gt)))
        elif "choice" in category:
            kind, truth = "region", _first_region(gt, boxes)
        else:
            kind, truth = "bool", parse_bool(gt)
        if truth is None:
            raise ValueError(f"spatialrgpt item {r['id']}: cannot read the reference answer {gt!r}")
        items.append(Item(id=str(r["id"]), question=str(r["text_q"]), answer=truth, kind=kind,
                          categories=(str(qa["type"]), _group(category)), image=image_field(info["file_path"], folder),
                          options=tuple(boxes), meta={"category": category, "reference": gt}))
    return items


def _strip(text: str) -> str:
    """Region names and boxes carry numbers that are not the answer."""
    return _BRACKETS.sub(" ", _REGION.sub(" ", text))


def _first_region(text: str, boxes: list[str]) -> int | None:
    """The region an answer names first, as "Region [k]" or by its box phrase."""
    found = [(m.start(), int(m.group(1))) for m in _REGION.finditer(text)]
    low = text.lower()
    for k, phrase in enumerate(boxes):
        box = phrase[phrase.index("["):]
        i = low.find(box.lower())
        if i >= 0:
            found.append((i, k))
    return min(found)[1] if found else None


def to_prompt(item: Item) -> str:
    def region(m: re.Match) -> str:
        k = int(m.group(1))
        return item.options[k] if k < len(item.options) else m.group(0)
    return _REGION.sub(region, item.question)


def parse(text: str, item: Item):
    if item.kind == "length":
        return parse_length(_strip(text))
    if item.kind == "clock":
        return parse_clock(text)
    if item.kind == "region":
        return _first_region(text, list(item.options))
    return parse_bool(text)


def score(item: Item, value) -> dict[str, float]:
    if item.kind == "length":
        return relative_success(value, item.answer)
    if item.kind == "clock":
        d = abs(value - item.answer) % 12
        return {"correct": float(min(d, 12 - d) <= 1)}
    return {"correct": float(value == item.answer)}


@register_task("spatialrgpt")
def spatialrgpt() -> Task:
    return Task(name="spatialrgpt", load=load, to_prompt=to_prompt, parse=parse, score=score,
                aggregate=lambda items, scores: mean_by_category(items, scores, metrics=("accuracy", "abs_rel"),
                                                                 categories=CATEGORY_ORDER),
                description="SpatialRGPT-Bench: quantitative success (within 25%) + abs-rel, qualitative accuracy; "
                            "regions named by box")
