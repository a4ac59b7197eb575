"""What the published-benchmark tasks share: reading their record files, their image fields, and the
multiple-choice prompt / parse / score."""

from __future__ import annotations

import base64
import binascii
import io as _io
import json
import math
from typing import Any

import numpy as np
import polars as pl

from hispatial_assets.evaluation.task import Item
from hispatial_assets.qa.parse import parse_choice
from hispatial_assets.qa.answers import choice_question
from hispatial_assets.storage import io

LETTERS = "ABCDEFGH"


def read_records(uri: str) -> list[dict]:
    """Rows of a .jsonl, .json (a list, or an object with a list under "data"), .parquet, .tsv or .csv file."""
    lower = uri.lower()
    if lower.endswith(".parquet"):
        return io.read_parquet(uri).to_dicts()
    data = io.read_bytes(uri)
    if lower.endswith((".tsv", ".csv")):
        sep = "\t" if lower.endswith(".tsv") else ","
        df = pl.read_csv(_io.BytesIO(data), separator=sep, infer_schema=False, quote_char='"')
        return df.to_dicts()
    if lower.endswith(".jsonl"):
        return [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    doc = json.loads(data)
    if isinstance(doc, dict):
        doc = doc.get("data", doc.get("annotations", []))
    return list(doc)


def image_field(value: Any, folder: str, *, base64_text: bool = False) -> str | bytes | None:
    """An image as the published files give it: a path relative to the benchmark folder, a Hugging Face
    image struct ``{"bytes", "path"}``, or (``base64_text``) base64 text as in VLMEvalKit TSVs."""
    if blank(value):
        return None
    if isinstance(value, dict):
        if value.get("bytes"):
            return bytes(value["bytes"])
        return image_field(value.get("path"), folder)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    s = str(value)
    if base64_text:
        try:
            return base64.b64decode(s, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(f"image field is not base64 text: {s[:40]!r}...") from None
    if "://" in s or s.startswith("/"):
        return s
    return io.join(folder, s)


def blank(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or (isinstance(value, str) and not value.strip())


def choice_prompt(item: Item) -> str:
    """Our own multiple-choice layout (the one the model trained on): the stem, then "A. ..." lines."""
    return choice_question(item.question, list(item.options))


def parse_letter(text: str, item: Item) -> str | None:
    return parse_choice(text, len(item.options), item.options)


def score_letter(item: Item, letter: str) -> dict[str, float]:
    return {"correct": float(letter == item.answer)}


def point_in_polygon(x: float, y: float, polygon) -> bool:
    """Even-odd rule (ray casting) over the polygon's edges at once."""
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if len(p) < 3:
        return False
    xi, yi = p[:, 0], p[:, 1]
    xj, yj = np.roll(xi, 1), np.roll(yi, 1)
    crosses = (yi > y) != (yj > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_at = (xj - xi) * (y - yi) / (yj - yi) + xi
    return bool(np.count_nonzero(crosses & (x < x_at)) % 2)
