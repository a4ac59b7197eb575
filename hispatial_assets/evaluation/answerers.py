"""Who answers benchmark items: the trained model, a baseline, or a file of predictions. All of them
give raw answer text, which then goes through the same parser and scorer (`scoring.score_answers`)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from hispatial_assets.evaluation.task import Item
from hispatial_assets.storage import io

# Which point map the model sees, by the recipe's input modality: the pipeline's estimate, the scene
# engine's exact one, or none (`model.recipes.MODALITIES`).
POINT_MAPS_BY_MODALITY: dict[str, str | None] = {
    "rgb": None, "rgb_reldepth": "estimated", "rgb_xyz": "estimated", "rgb_gt_xyz": "exact",
}


@runtime_checkable
class Answerer(Protocol):
    name: str

    def answer(self, items: Sequence[Item]) -> list[str]: ...


class PredictionFile:
    """Answers read from a file: JSON lines ``{"id": ..., "answer": ...}`` or one JSON object
    ``{id: answer}``. An item without a prediction gets "" (a parse failure)."""

    def __init__(self, uri: str, name: str = "predictions"):
        self.name = name
        text = io.read_bytes(uri).decode()
        try:
            doc = json.loads(text)
        except json.JSONDecodeError:  # JSON lines
            doc = [json.loads(line) for line in text.splitlines() if line.strip()]
        if isinstance(doc, dict) and "id" not in doc:
            self.by_id = {str(k): str(v) for k, v in doc.items()}
        else:
            rows = doc if isinstance(doc, list) else [doc]
            self.by_id = {str(r["id"]): str(r.get("answer", "")) for r in rows}

    def answer(self, items: Sequence[Item]) -> list[str]:
        return [self.by_id.get(it.id, "") for it in items]


class ModelAnswerer:
    """The trained RGB-XYZ VLM: one `model.inference.Query` per item (image, prompt, and the point map
    its modality needs, from ``point_map_for``), answered in batches."""

    def __init__(self, predictor, point_map_for: Callable[[Item], object] | None = None, *, name: str = "model",
                 batch_size: int = 8, max_new_tokens: int = 32):
        self.predictor, self.point_map_for, self.name = predictor, point_map_for, name
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens

    def answer(self, items: Sequence[Item]) -> list[str]:
        from hispatial_assets.model.inference import Query

        out: list[str] = []
        for start in range(0, len(items), self.batch_size):
            batch = items[start:start + self.batch_size]
            queries = [Query(image=it.rgb(), question=it.prompt or it.question,
                             point_map=self.point_map_for(it) if self.point_map_for else None) for it in batch]
            out += [str(a) for a in self.predictor.answer(queries, max_new_tokens=self.max_new_tokens,
                                                          batch_size=self.batch_size)]
        return out
