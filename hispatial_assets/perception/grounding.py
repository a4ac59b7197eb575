"""GroundingDINO (transformers) from a local checkpoint: open-vocabulary boxes for phrases.

`GroundingDino` is the shared model wrapper (`grounded_sam` uses it for detection, `GroundingDinoGrounder`
for grounding referring expressions); nothing here ever downloads.

Expected local layout (what ``save_pretrained`` of model and processor writes, e.g. a snapshot of
``IDEA-Research/grounding-dino-tiny``)::

    <path>/config.json                   GroundingDinoConfig
    <path>/model.safetensors             GroundingDinoForObjectDetection weights
    <path>/processor_config.json         GroundingDinoProcessor (or preprocessor_config.json)
    <path>/tokenizer.json, tokenizer_config.json   the BERT tokenizer
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from hispatial_assets.perception.base import (ImageRef, checkpoint_fingerprint, config_setting, load_local,
                                              require_checkpoint)


def resolve_device(device: str) -> str:
    """``"auto"`` -> cuda when available, else cpu; anything else unchanged."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@dataclass
class PhraseBoxes:
    """Boxes (K, 4) xyxy pixels of the original image, scores (K,), and the phrase index of each box."""

    boxes: np.ndarray
    scores: np.ndarray
    phrase_index: np.ndarray

    @classmethod
    def empty(cls) -> "PhraseBoxes":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))


def phrase_prompt(phrases: list[str]) -> tuple[str, list[tuple[int, int]]]:
    """GroundingDINO's ``"a. b c. d."`` prompt and each phrase's character span in it."""
    text, spans = "", []
    for p in phrases:
        p = " ".join(p.strip().lower().split())
        if text:
            text += " "
        spans.append((len(text), len(text) + len(p)))
        text += p + "."
    return text, spans


def token_phrase_map(offsets: list[tuple[int, int]], spans: list[tuple[int, int]]) -> np.ndarray:
    """(T, P) bool: token t lies inside phrase p (special tokens and separators belong to none)."""
    m = np.zeros((len(offsets), len(spans)), dtype=bool)
    for t, (a, b) in enumerate(offsets):
        if b <= a:
            continue
        for p, (s, e) in enumerate(spans):
            if a >= s and b <= e:
                m[t, p] = True
    return m


def clip_boxes(boxes: np.ndarray, width: int, height: int) -> np.ndarray:
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 4).copy()
    b[:, [0, 2]] = np.clip(b[:, [0, 2]], 0, width)
    b[:, [1, 3]] = np.clip(b[:, [1, 3]], 0, height)
    return b


@dataclass
class GroundingDino:
    """A loaded GroundingDINO: processor + ``GroundingDinoForObjectDetection``."""

    processor: Any
    model: Any
    device: str = "cpu"

    @classmethod
    def load(cls, path: str, setting: str, device: str = "cpu") -> "GroundingDino":
        from transformers import AutoProcessor, GroundingDinoForObjectDetection

        path = require_checkpoint(path, setting)
        device = resolve_device(device)
        processor, model = load_local(AutoProcessor, GroundingDinoForObjectDetection, path, device)
        return cls(processor=processor, model=model, device=device)

    @property
    def max_text_tokens(self) -> int:
        return int(self.model.config.max_text_len)

    def _chunks(self, phrases: list[str]) -> list[list[int]]:
        """Phrase indices grouped so each group's prompt fits the text encoder (CLS + SEP included)."""
        tok = self.processor.tokenizer
        budget = self.max_text_tokens - 2
        chunks: list[list[int]] = [[]]
        used = 0
        for i, p in enumerate(phrases):
            n = len(tok(p.strip().lower() + ".", add_special_tokens=False)["input_ids"])
            if chunks[-1] and used + n > budget:
                chunks.append([])
                used = 0
            chunks[-1].append(i)
            used += n
        return [c for c in chunks if c]

    def detect_phrases(self, rgb: np.ndarray, phrases: list[str], box_threshold: float,
                       text_threshold: float) -> PhraseBoxes:
        """Boxes for any of ``phrases``; each box is assigned the phrase whose tokens score highest.

        A box is kept when its best token probability exceeds ``box_threshold`` (transformers'
        post-processing) and its phrase's best token probability exceeds ``text_threshold``.
        """
        import torch

        phrases = [p for p in phrases if p.strip()]
        if not phrases:
            return PhraseBoxes.empty()
        h, w = rgb.shape[:2]
        pil = Image.fromarray(np.asarray(rgb, dtype=np.uint8))
        out_boxes, out_scores, out_idx = [], [], []
        for chunk in self._chunks(phrases):
            text, spans = phrase_prompt([phrases[i] for i in chunk])
            inputs = self.processor(images=pil, text=text, return_tensors="pt").to(self.device)
            offsets = self.processor.tokenizer(text, return_offsets_mapping=True)["offset_mapping"]
            tokens_of = token_phrase_map([tuple(o) for o in offsets], spans)  # (T, P)
            with torch.no_grad():
                outputs = self.model(**inputs)
            result = self.processor.post_process_grounded_object_detection(
                outputs, inputs["input_ids"], threshold=box_threshold, text_threshold=text_threshold,
                target_sizes=[(h, w)])[0]
            # the same selection post-processing made, to read each kept box's per-token probabilities
            probs = torch.sigmoid(outputs.logits[0]).float().cpu().numpy()  # (Q, max_text_len)
            keep = probs.max(axis=1) > box_threshold
            probs = probs[keep][:, : tokens_of.shape[0]]
            boxes = result["boxes"].float().cpu().numpy().reshape(-1, 4)
            scores = result["scores"].float().cpu().numpy().reshape(-1)
            assert len(boxes) == len(probs), "post-processing kept a different set of queries"
            phrase_scores = np.where(tokens_of[None, :, :], probs[:, :, None], -np.inf).max(axis=1)  # (K, P)
            best = phrase_scores.argmax(axis=1) if len(probs) else np.zeros(0, np.int64)
            ok = phrase_scores[np.arange(len(best)), best] > text_threshold if len(best) else np.zeros(0, bool)
            out_boxes.append(boxes[ok])
            out_scores.append(scores[ok])
            out_idx.append(np.asarray(chunk, dtype=np.int64)[best[ok]])
        boxes = clip_boxes(np.concatenate(out_boxes), w, h)
        scores = np.concatenate(out_scores).astype(np.float32)
        idx = np.concatenate(out_idx)
        nonempty = (boxes[:, 2] - boxes[:, 0] >= 1.0) & (boxes[:, 3] - boxes[:, 1] >= 1.0)
        order = np.argsort(-scores[nonempty], kind="stable")
        return PhraseBoxes(boxes[nonempty][order], scores[nonempty][order], idx[nonempty][order])


@dataclass
class GroundingDinoGrounder:
    """`GroundingBackend`: candidate boxes for one referring expression, best first.

    The model loads on first use; a missing path fails at construction with `CheckpointNotFound`.
    """

    path: str
    box_threshold: float = 0.25
    text_threshold: float = 0.25
    max_boxes: int = 10
    device: str = "cpu"
    setting: str = config_setting("referral", "grounder")
    name = "grounding_dino"
    version = "1"

    def __post_init__(self) -> None:
        require_checkpoint(self.path, self.setting)
        self._model: GroundingDino | None = None

    def settings(self) -> dict:
        return {"box_threshold": self.box_threshold, "text_threshold": self.text_threshold,
                "max_boxes": self.max_boxes, "checkpoint": checkpoint_fingerprint(self.path)}

    @property
    def model(self) -> GroundingDino:
        if self._model is None:
            self._model = GroundingDino.load(self.path, self.setting, self.device)
        return self._model

    def ground_rgb(self, rgb: np.ndarray, expression: str) -> tuple[np.ndarray, np.ndarray]:
        # one phrase: drop inner full stops, which GroundingDINO reads as phrase separators
        phrase = expression.replace(".", " ").strip()
        found = self.model.detect_phrases(rgb, [phrase], self.box_threshold, self.text_threshold)
        return found.boxes[: self.max_boxes], found.scores[: self.max_boxes]

    def ground(self, image: ImageRef, expression: str) -> tuple[np.ndarray, np.ndarray]:
        return self.ground_rgb(image.rgb(), expression)
