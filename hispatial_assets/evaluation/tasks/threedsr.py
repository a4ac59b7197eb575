"""`3dsrbench`: 3DSRBench with flip and circular evaluation.

File: ``3dsrbench_v1_vlmevalkit_circular.tsv`` (or any ``*.tsv``) in VLMEvalKit's layout: ``index, qid,
question, A, B, C, D`` (unused options empty), ``answer`` (a letter), ``category`` (12 subtypes) and a
base64 ``image``. A question ``Q`` comes with its flipped copy ``Q-flip`` (image mirrored, left/right
words swapped) and, for circular evaluation, copies with the options rotated: ``Q-1``, ``Q-2``, ...
and ``Q-flip-1``, ...

Protocols, each per category group (height, location, orientation, multi_object) and overall:
``vanilla`` (accuracy over the plain questions ``Q``), ``flip`` (a question counts only when ``Q`` and
``Q-flip`` are both right), ``circular`` (only when ``Q`` and all its rotations are right) and
``flip_circular`` (every copy right). ``n`` is the number of questions (groups); parse failures are
counted over the copies a protocol uses.
"""

from __future__ import annotations

import re
from collections import defaultdict

from hispatial_assets.evaluation.scoring import ALL
from hispatial_assets.evaluation.task import Item, ScoreRow, Task, find_file, register_task
from hispatial_assets.evaluation.tasks.common import (LETTERS, blank, choice_prompt, image_field, parse_letter,
                                                      read_records, score_letter)

FILES = ("3dsrbench_v1_vlmevalkit_circular.tsv", "*.tsv")
GROUPS = {
    "height": ("height_higher",),
    "location": ("location_above", "location_closer_to_camera", "location_next_to"),
    "orientation": ("orientation_in_front_of", "orientation_on_the_left", "orientation_viewpoint"),
    "multi_object": ("multi_object_closer_to", "multi_object_facing", "multi_object_viewpoint_towards_object",
                     "multi_object_parallel", "multi_object_same_direction"),
}
GROUP_OF = {sub: g for g, subs in GROUPS.items() for sub in subs}
PROTOCOLS = ("vanilla", "flip", "circular", "flip_circular")
_QID = re.compile(r"^(?P<base>.+?)(?P<flip>-flip)?(?:-(?P<rot>\d+))?$")


def split_qid(qid: str) -> tuple[str, bool, int]:
    """(base question id, flipped, rotation) of a qid: 'Q' -> (Q, False, 0), 'Q-flip-2' -> (Q, True, 2)."""
    m = _QID.match(qid)
    return m.group("base"), bool(m.group("flip")), int(m.group("rot") or 0)


def load(folder: str) -> list[Item]:
    items = []
    for r in read_records(find_file("3dsrbench", folder, FILES)):
        options = tuple(str(r[L]) for L in LETTERS[:4] if L in r and not blank(r[L]))
        qid = str(r["qid"])
        base, flipped, rot = split_qid(qid)
        sub = str(r["category"])
        items.append(Item(id=qid, question=str(r["question"]), answer=str(r["answer"]).strip().upper(), kind="choice",
                          categories=(GROUP_OF.get(sub, "other"), sub), options=options,
                          image=image_field(r.get("image"), folder, base64_text=True),
                          meta={"base": base, "flip": flipped, "rotation": rot, "index": r.get("index")}))
    return items


def aggregate(items, scores) -> list[ScoreRow]:
    rows = []
    for protocol in PROTOCOLS:
        for cat in (ALL, *GROUPS):
            groups: dict[str, list[int]] = defaultdict(list)
            for i, it in enumerate(items):
                if cat != ALL and it.categories[0] != cat:
                    continue
                flip, rot = it.meta["flip"], it.meta["rotation"]
                use = {"vanilla": not flip and rot == 0, "flip": rot == 0, "circular": not flip,
                       "flip_circular": True}[protocol]
                if use:
                    groups[it.meta["base"]].append(i)
            if not groups:
                continue
            right = [all(scores[i]["correct"] for i in idx) for idx in groups.values()]
            failures = sum(bool(scores[i].get("parse_failed")) for idx in groups.values() for i in idx)
            rows.append(ScoreRow(cat, protocol, sum(right) / len(right), len(right), failures))
    return rows


@register_task("3dsrbench")
def threedsrbench() -> Task:
    return Task(name="3dsrbench", load=load, to_prompt=choice_prompt, parse=parse_letter, score=score_letter,
                aggregate=aggregate, description="3DSRBench: vanilla / flip / circular / flip+circular accuracy")
