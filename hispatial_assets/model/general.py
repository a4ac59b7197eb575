"""General (non-spatial) VQA mixed into training so the model keeps its general skills (paper: 1:7).

The mixing path reads LLaVA-format JSON (``[{"id", "image", "conversations": [{"from": "human", "value":
"<image>\\n..."}, {"from": "gpt", "value": ...}, ...]}]``), e.g. LLaVA-Next's. So that the path always
runs, the default general set is made here from the drops themselves: what objects are in the image,
how many of a kind, what color an object is — questions with no spatial content.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Sequence

import numpy as np
import polars as pl

from hispatial_assets.qa.text import join_and, plural
from hispatial_assets.storage import io

IMAGE_PLACEHOLDER = "<image>"
COUNT_QUESTIONS_PER_IMAGE = 2
COLOR_QUESTIONS_PER_IMAGE = 2


def _record(record_id: str, image: str, question: str, answer: str, **extra) -> dict:
    return {"id": record_id, "image": image, **extra,
            "conversations": [{"from": "human", "value": f"{IMAGE_PLACEHOLDER}\n{question}"},
                              {"from": "gpt", "value": answer}]}


def general_vqa_records(images: pl.DataFrame, objects: pl.DataFrame, referrals: pl.DataFrame, *,
                        seed: int = 0) -> list[dict]:
    """LLaVA records about each image's objects (``schema.IMAGES`` / ``OBJECTS`` / ``REFERRALS`` frames).

    Per image: the kinds of objects present, the count of up to two kinds, and the color of up to two
    objects with a verified referring expression that does not already name the color. Choices are
    deterministic per (seed, drop, image).
    """
    named = referrals.filter(pl.col("verified")).select("drop_id", "image_id", "object_id", "expression")
    objs = objects.join(named, on=["drop_id", "image_id", "object_id"], how="left")
    by_image = {key: frame for key, frame in objs.partition_by("drop_id", "image_id", as_dict=True).items()}
    records = []
    for image in images.sort("drop_id", "image_id").iter_rows(named=True):
        frame = by_image.get((image["drop_id"], image["image_id"]))
        if frame is None or not len(frame):
            continue
        rng = np.random.default_rng(zlib.crc32(f"{seed}:{image['drop_id']}:{image['image_id']}".encode()))
        base = f"general:{image['drop_id']}:{image['image_id']}"
        meta = {"drop_id": image["drop_id"], "image_id": image["image_id"]}
        labels = frame["label"].to_list()
        kinds = sorted(set(labels))
        records.append(_record(f"{base}:objects", image["uri"], "What kinds of objects are in the image?",
                               join_and([plural(k) for k in kinds]).capitalize() + ".", task="general_objects",
                               object_ids=sorted(frame["object_id"].to_list()), **meta))
        for kind in rng.permutation(kinds)[:COUNT_QUESTIONS_PER_IMAGE]:
            ids = sorted(frame.filter(pl.col("label") == kind)["object_id"].to_list())
            records.append(_record(f"{base}:count:{kind}", image["uri"], f"How many {plural(str(kind))} are in the image?",
                                   str(len(ids)), task="general_count", object_ids=ids, **meta))
        colored = frame.filter(pl.col("expression").is_not_null() & pl.col("color").is_not_null())
        colored = colored.filter(~pl.col("expression").str.contains(pl.col("color"), literal=True))
        for i in rng.permutation(len(colored))[:COLOR_QUESTIONS_PER_IMAGE]:
            row = colored.row(int(i), named=True)
            records.append(_record(f"{base}:color:{row['object_id']}", image["uri"], f"What color is {row['expression']}?",
                                   f"{row['color'].capitalize()}.", task="general_color", object_ids=[row["object_id"]],
                                   **meta))
    return records


def read_llava(source: str | Sequence[dict], image_root: str | None = None) -> pl.DataFrame:
    """One row per (human, gpt) turn of LLaVA records: id, image (URI), question, answer, task, drop_id,
    image_id, object_ids. Records without an image are left out (the model always sees one); relative
    image paths are taken under ``image_root``."""
    records = io.read_json(source) if isinstance(source, str) else source
    rows = []
    for rec in records:
        image = rec.get("image")
        if not image:
            continue
        if image_root and "://" not in image and not image.startswith("/"):
            image = io.join(image_root, image)
        turns = rec.get("conversations") or []
        for k in range(0, len(turns) - 1, 2):
            human, gpt = turns[k], turns[k + 1]
            if human.get("from") != "human" or gpt.get("from") != "gpt":
                raise ValueError(f"LLaVA record {rec.get('id')!r}: turn {k} is not a human/gpt pair")
            question = human["value"].replace(IMAGE_PLACEHOLDER, "").strip()
            rows.append({"id": f"{rec.get('id')}#{k // 2}" if k else str(rec.get("id")), "image": image,
                         "question": question, "answer": str(gpt["value"]).strip(),
                         "task": rec.get("task", "general"), "drop_id": rec.get("drop_id"),
                         "image_id": rec.get("image_id"), "object_ids": rec.get("object_ids") or []})
    schema = {"id": pl.String, "image": pl.String, "question": pl.String, "answer": pl.String, "task": pl.String,
              "drop_id": pl.String, "image_id": pl.String, "object_ids": pl.List(pl.Int32)}
    return pl.DataFrame(rows, schema=schema)


def sample_general(general: pl.DataFrame, n: int, *, seed: int = 0) -> pl.DataFrame:
    """``n`` rows of the general set: a seeded shuffle, repeated whole when ``n`` exceeds it."""
    if n <= 0 or not len(general):
        return general.head(0)
    rng = np.random.default_rng(seed)
    repeats = -(-n // len(general))
    order = np.concatenate([rng.permutation(len(general)) for _ in range(repeats)])[:n]
    return general[order]


def write_llava(uri: str, records: list[dict]) -> str:
    return io.write_bytes(uri, json.dumps(records, ensure_ascii=False, sort_keys=True).encode())
