"""`vlm` referral backend: a local VLM writes a referring expression, grounding verifies it (DESIGN §5).

For each object of an image the VLM sees the image with the object's 2D box drawn in red (or a crop
around it, ``prompt_mode="crop"``) and is asked for a short expression that singles it out. The reply is
cleaned into ``"the ..."`` and grounded back into the image; it is kept (method ``vlm``) only when the
best grounded box overlaps the object's box with IoU ≥ ``iou_threshold`` and overlaps no other object's
box as much. Otherwise the paper's class + box fallback is used (method ``fallback``).

Expected local layout of ``vlm_path`` (``save_pretrained`` of model + processor; any model that
``AutoModelForImageTextToText`` loads and whose processor has a chat template taking
``{"type": "image"}`` content, e.g. a snapshot of Qwen/Qwen2.5-VL-3B-Instruct or llava-hf/llava-1.5-7b-hf)::

    <vlm_path>/config.json, model*.safetensors, generation_config.json
    <vlm_path>/processor_config.json / preprocessor_config.json, tokenizer files, chat_template.jinja
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import polars as pl
from PIL import Image, ImageDraw

from hispatial_assets import schema
from hispatial_assets.perception.base import (GroundingBackend, ImageRef, checkpoint_fingerprint, config_setting,
                                              identity, load_local, require_checkpoint)
from hispatial_assets.perception.grounding import resolve_device
from hispatial_assets.perception.referral.common import box_iou, fallback_expression

PROMPT = ("The red rectangle marks a {label}. Write a short referring expression that identifies exactly this "
          "object in the image, for example \"the red chair left of the table\". Answer with the expression only.")

_PREFIX = re.compile(r"^\s*(assistant|answer|expression|referring expression|output)\s*[:\-]\s*", re.IGNORECASE)
_QUOTES = "\"'`*“”‘’«»"


def parse_expression(reply: str, max_words: int = 16) -> str | None:
    """A VLM reply -> ``"the ..."`` (first line, first sentence, no quotes, lowercase), or None if unusable."""
    lines = [ln for ln in reply.replace("\r", "\n").split("\n") if ln.strip()]
    if not lines:
        return None
    text = _PREFIX.sub("", lines[0]).strip().strip(_QUOTES).strip()
    end = re.search(r"[.!?;][^\w\s]*(\s|$)", text)  # first sentence, closing quotes included
    text = text[: end.start()] if end else text
    text = "".join(ch for ch in text if ch.isprintable())
    text = " ".join(text.strip(_QUOTES + " ").rstrip(".!?,;:").strip(_QUOTES + " ").lower().split())
    text = re.sub(r"^(a|an|this|that)\s+", "the ", text)
    if not text.startswith("the "):
        text = f"the {text}"
    words = text.split()
    if len(words) < 2 or len(words) > max_words or not re.search(r"[a-z]{2,}", " ".join(words[1:])):
        return None
    return text


def verify_grounding(object_box: np.ndarray, other_boxes: np.ndarray, grounded_boxes: np.ndarray,
                     grounded_scores: np.ndarray, iou_threshold: float) -> tuple[bool, float]:
    """Is the top-scoring grounded box this object? ``(verified, iou with the object's box)``.

    Verified when that IoU is ≥ ``iou_threshold`` and strictly greater than its IoU with every other
    object's box (a tie is ambiguous, so it is not verified).
    """
    grounded = np.asarray(grounded_boxes, np.float64).reshape(-1, 4)
    if not len(grounded):
        return False, 0.0
    best = grounded[int(np.argmax(np.asarray(grounded_scores).reshape(-1)))]
    iou = float(box_iou(best, object_box)[0, 0])
    others = np.asarray(other_boxes, np.float64).reshape(-1, 4)
    rival = float(box_iou(best, others).max()) if len(others) else 0.0
    return bool(iou >= iou_threshold and iou > rival), iou


def mark_region(rgb: np.ndarray, box: np.ndarray, mode: str = "box", margin: float = 0.25,
                color: tuple[int, int, int] = (255, 0, 0)) -> Image.Image:
    """The image the VLM sees: the box drawn in red on the full image (``box``) or on a crop around it
    grown by ``margin`` of the box size on each side (``crop``)."""
    h, w = rgb.shape[:2]
    img = Image.fromarray(np.asarray(rgb, np.uint8)).convert("RGB")
    x0, y0, x1, y1 = [float(v) for v in box]
    ImageDraw.Draw(img).rectangle([x0, y0, x1 - 1, y1 - 1], outline=color, width=max(2, round(max(w, h) / 200)))
    if mode == "box":
        return img
    if mode != "crop":
        raise ValueError(f"prompt_mode must be 'box' or 'crop', not {mode!r}")
    mx, my = margin * (x1 - x0), margin * (y1 - y0)
    return img.crop((int(max(0, x0 - mx)), int(max(0, y0 - my)), int(min(w, np.ceil(x1 + mx))),
                     int(min(h, np.ceil(y1 + my)))))


class VlmReferrer:
    """`ReferralBackend` ``vlm``: VLM-written expressions verified by a `GroundingBackend`.

    ``grounder`` is a `GroundingBackend`, or (from config) the path of a local GroundingDINO checkpoint.
    The checkpoint path is checked at construction (`CheckpointNotFound`, setting ``stages.referral.vlm_path``);
    the model loads on first use.
    """

    name = "vlm"
    version = "1"
    setting = config_setting("referral", "vlm_path")

    def __init__(self, vlm_path: str, grounder: GroundingBackend | str, iou_threshold: float = 0.5,
                 max_new_tokens: int = 24, prompt_mode: str = "box", margin: float = 0.25, max_words: int = 16,
                 device: str = "cpu"):
        self.vlm_path = require_checkpoint(vlm_path, self.setting)
        if isinstance(grounder, str):  # from config: a local GroundingDINO checkpoint
            from hispatial_assets.perception.grounding import GroundingDinoGrounder

            grounder = GroundingDinoGrounder(grounder, device=device, setting=config_setting("referral", "grounder"))
        self.grounder, self.iou_threshold = grounder, float(iou_threshold)
        self.max_new_tokens, self.prompt_mode, self.margin, self.max_words = max_new_tokens, prompt_mode, margin, max_words
        self.device = resolve_device(device)
        self._model: Any = None
        self._processor: Any = None

    def settings(self) -> dict:
        return {"iou_threshold": self.iou_threshold, "max_new_tokens": self.max_new_tokens,
                "prompt_mode": self.prompt_mode, "margin": self.margin, "max_words": self.max_words,
                "prompt": PROMPT, "checkpoint": checkpoint_fingerprint(self.vlm_path),
                "grounder": identity(self.grounder)}

    def _load(self) -> None:
        from transformers import AutoModelForImageTextToText, AutoProcessor

        self._processor, self._model = load_local(AutoProcessor, AutoModelForImageTextToText, self.vlm_path, self.device)

    def describe(self, rgb: np.ndarray, box: np.ndarray, label: str) -> str:
        """The VLM's raw reply for one marked object."""
        import torch

        if self._model is None:
            self._load()
        image = mark_region(rgb, box, self.prompt_mode, self.margin)
        messages = [{"role": "user", "content": [{"type": "image"},
                                                 {"type": "text", "text": PROMPT.format(label=label)}]}]
        text = self._processor.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
        inputs = self._processor(images=[image], text=[text], return_tensors="pt").to(self.device)
        with torch.no_grad():
            out = self._model.generate(**inputs, max_new_tokens=self.max_new_tokens, do_sample=False)
        new = out[:, inputs["input_ids"].shape[1]:]
        return self._processor.batch_decode(new, skip_special_tokens=True)[0]

    def _ground(self, image: ImageRef, rgb: np.ndarray, expression: str) -> tuple[np.ndarray, np.ndarray]:
        ground_rgb = getattr(self.grounder, "ground_rgb", None)  # skips re-reading the image when offered
        return ground_rgb(rgb, expression) if ground_rgb else self.grounder.ground(image, expression)

    def refer_rgb(self, image: ImageRef, rgb: np.ndarray, objects: pl.DataFrame) -> pl.DataFrame:
        if not len(objects):
            return schema.empty("referrals")
        h, w = rgb.shape[:2]
        boxes = objects.select(["box_x0", "box_y0", "box_x1", "box_y1"]).to_numpy().astype(np.float64)
        rows = []
        for i, obj in enumerate(objects.iter_rows(named=True)):
            expression = parse_expression(self.describe(rgb, boxes[i], obj["label"]), self.max_words)
            verified, iou = False, None
            if expression is not None:
                grounded, scores = self._ground(image, rgb, expression)
                verified, iou = verify_grounding(boxes[i], np.delete(boxes, i, axis=0), grounded, scores,
                                                 self.iou_threshold)
            rows.append({
                "drop_id": obj.get("drop_id") or image.drop_id, "image_id": obj.get("image_id") or image.image_id,
                "object_id": obj["object_id"],
                "expression": expression if verified else fallback_expression(obj["label"], boxes[i], w, h),
                "method": "vlm" if verified else "fallback", "iou": iou, "verified": verified, "backend": self.name,
            })
        return schema.conform(pl.DataFrame(rows, schema_overrides={"iou": pl.Float32}), "referrals")

    def refer(self, image: ImageRef, objects: pl.DataFrame) -> pl.DataFrame:
        return self.refer_rgb(image, image.rgb(), objects)
