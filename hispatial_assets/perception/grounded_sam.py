"""`grounded_sam` detection: tags -> GroundingDINO boxes -> SAM masks (DESIGN §5), local checkpoints only.

Tags come from a configured vocabulary, or from an image tagger (any ``rgb -> list[str]`` callable;
see `tagging`): SigLIP zero-shot tagging when ``siglip_path`` is set, Recognize Anything when
``tagger`` is a RAM checkpoint path. GroundingDINO proposes boxes for the tags, class-agnostic NMS
removes duplicates across labels, and SAM turns every kept box into a mask at the original image size.

Expected local layouts (``save_pretrained`` output of model + processor; nothing is downloaded)::

    grounding_dino_path/   config.json, model.safetensors, processor_config.json, tokenizer files
                           (e.g. a snapshot of IDEA-Research/grounding-dino-tiny; see `grounding`)
    sam_path/              config.json (SamConfig), model.safetensors, processor_config.json or
                           preprocessor_config.json (SamProcessor; e.g. a snapshot of facebook/sam-vit-base)
    siglip_path/           SigLIP or SigLIP 2 (model, tokenizer, image processor), the default tagger
                           when set (see `tagging.SiglipTagger`)
    tagger                 a Recognize Anything checkpoint file (e.g. ram_plus_swin_large_14m.pth),
                           used through `RamTagger` with the ``ram`` package installed
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from PIL import Image

from hispatial_assets.perception.base import (
    Detections,
    ImageRef,
    checkpoint_fingerprint,
    config_setting,
    identity,
    load_local,
    require_checkpoint,
)
from hispatial_assets.perception.grounding import GroundingDino, resolve_device
from hispatial_assets.perception.referral.common import box_iou
from hispatial_assets.perception.tagging import RamTagger, SiglipTagger

# Everyday indoor and outdoor classes, the default when neither a vocabulary nor a tagger is configured.
DEFAULT_VOCABULARY = [
    "chair", "table", "sofa", "bed", "cabinet", "shelf", "desk", "lamp", "television", "monitor", "laptop",
    "keyboard", "book", "cup", "bottle", "bowl", "vase", "plant", "pillow", "box", "bag", "backpack",
    "clock", "picture", "mirror", "door", "window", "refrigerator", "microwave", "oven", "sink", "toilet",
    "person", "dog", "cat", "car", "bicycle", "motorcycle", "bus", "truck", "bench", "tree", "trash can",
    "traffic light", "stop sign", "umbrella",
]


def nms(boxes: np.ndarray, scores: np.ndarray, iou_threshold: float) -> np.ndarray:
    """Greedy non-maximum suppression across all labels; indices kept, best score first."""
    boxes = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    order = list(np.argsort(-np.asarray(scores), kind="stable"))
    keep: list[int] = []
    while order:
        i = order.pop(0)
        keep.append(i)
        if order:
            ious = box_iou(boxes[i], boxes[order])[0]
            order = [j for j, v in zip(order, ious) if v <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


class Sam:
    """A loaded SAM (transformers ``SamModel`` + ``SamProcessor``): box prompts -> masks at image size."""

    def __init__(self, processor: Any, model: Any, device: str = "cpu"):
        self.processor, self.model, self.device = processor, model, device

    @classmethod
    def load(cls, path: str, setting: str, device: str = "cpu") -> "Sam":
        from transformers import SamModel, SamProcessor

        path = require_checkpoint(path, setting)
        device = resolve_device(device)
        processor, model = load_local(SamProcessor, SamModel, path, device)
        return cls(processor, model, device)

    def masks_to_image(self, low_res_masks: Any, original_size: tuple[int, int], reshaped_size: tuple[int, int],
                       mask_threshold: float = 0.0) -> np.ndarray:
        """Mask logits (N, 1, h, w) in the padded model frame -> (N, H, W) bool in the original image."""
        import torch

        masks = self.processor.post_process_masks(
            [torch.as_tensor(low_res_masks).float().cpu()], [list(original_size)], [list(reshaped_size)],
            mask_threshold=mask_threshold)[0]
        return masks[:, 0].numpy().astype(bool)

    def segment(self, rgb: np.ndarray, boxes: np.ndarray, mask_threshold: float = 0.0,
                batch: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """Masks (N, H, W) bool and SAM's predicted IoU (N,) for pixel xyxy box prompts."""
        import torch

        h, w = rgb.shape[:2]
        boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
        if not len(boxes):
            return np.zeros((0, h, w), bool), np.zeros(0, np.float32)
        pil = Image.fromarray(np.asarray(rgb, dtype=np.uint8))
        inputs = self.processor(images=pil, input_boxes=[boxes.tolist()], return_tensors="pt")
        original = tuple(int(v) for v in inputs["original_sizes"][0])
        reshaped = tuple(int(v) for v in inputs["reshaped_input_sizes"][0])
        prompts = inputs["input_boxes"].float().to(self.device)  # (1, N, 4) in the model frame
        masks, ious = [], []
        with torch.no_grad():
            embeddings = self.model.get_image_embeddings(inputs["pixel_values"].to(self.device))
            for s in range(0, len(boxes), batch):
                out = self.model(image_embeddings=embeddings, input_boxes=prompts[:, s: s + batch],
                                 multimask_output=False)
                masks.append(self.masks_to_image(out.pred_masks[0], original, reshaped, mask_threshold))
                ious.append(out.iou_scores[0, :, 0].float().cpu().numpy())
        return np.concatenate(masks), np.concatenate(ious).astype(np.float32)


class GroundedSamDetector:
    """`DetectionBackend` ``grounded_sam``: tags -> GroundingDINO -> NMS -> SAM -> `Detections`.

    ``vocabulary``: the phrases to look for (default `DEFAULT_VOCABULARY`); with a tagger the image's
    tags are used instead, restricted to the vocabulary when one is given. The tagger is ``tagger`` (a
    callable, or the path of a local RAM checkpoint, see `RamTagger`), else a `SiglipTagger` when
    ``siglip_path`` is set: it scores ``tag_vocabulary`` (default: ``vocabulary``, else the shipped
    everyday-objects list) with ``tag_threshold`` and ``tag_top_k``. Checkpoint paths are checked at
    construction (`CheckpointNotFound`); the models load on the first image.
    """

    name = "grounded_sam"
    version = "1"

    def __init__(self, grounding_dino_path: str, sam_path: str, vocabulary: list[str] | None = None,
                 tagger: Callable[[np.ndarray], list[str]] | str | None = None, box_threshold: float = 0.3,
                 text_threshold: float = 0.25, nms_iou: float = 0.5, mask_threshold: float = 0.0,
                 min_mask_px: int = 16, max_detections: int = 100, siglip_path: str | None = None,
                 tag_vocabulary: list[str] | str | None = None, tag_threshold: float = 0.1, tag_top_k: int = 20,
                 device: str = "cpu"):
        self.grounding_dino_path = require_checkpoint(grounding_dino_path, config_setting("detection", "grounding_dino_path"))
        self.sam_path = require_checkpoint(sam_path, config_setting("detection", "sam_path"))
        self.vocabulary = [v.strip().lower() for v in vocabulary] if vocabulary is not None else None
        if isinstance(tagger, str):
            tagger = RamTagger(tagger, device=device)
        elif tagger is None and siglip_path is not None:
            tagger = SiglipTagger(siglip_path, vocabulary=tag_vocabulary if tag_vocabulary is not None else self.vocabulary,
                                  threshold=tag_threshold, top_k=tag_top_k, device=device)
        self.tagger = tagger
        self.box_threshold, self.text_threshold = box_threshold, text_threshold
        self.nms_iou, self.mask_threshold = nms_iou, mask_threshold
        self.min_mask_px, self.max_detections = min_mask_px, max_detections
        self.device = resolve_device(device)
        self._dino: GroundingDino | None = None
        self._sam: Sam | None = None

    def settings(self) -> dict:
        tagger = None
        if self.tagger is not None:
            # a backend-like tagger (SiglipTagger, RamTagger) has an identity; a plain callable its qualname
            tagger = identity(self.tagger) if hasattr(self.tagger, "name") else getattr(
                self.tagger, "__qualname__", type(self.tagger).__qualname__)
        return {"box_threshold": self.box_threshold, "text_threshold": self.text_threshold,
                "nms_iou": self.nms_iou, "mask_threshold": self.mask_threshold, "min_mask_px": self.min_mask_px,
                "max_detections": self.max_detections, "vocabulary": self.vocabulary, "tagger": tagger,
                "grounding_dino": checkpoint_fingerprint(self.grounding_dino_path),
                "sam": checkpoint_fingerprint(self.sam_path)}

    @property
    def dino(self) -> GroundingDino:
        if self._dino is None:
            self._dino = GroundingDino.load(self.grounding_dino_path, config_setting("detection", "grounding_dino_path"), self.device)
        return self._dino

    @property
    def sam(self) -> Sam:
        if self._sam is None:
            self._sam = Sam.load(self.sam_path, config_setting("detection", "sam_path"), self.device)
        return self._sam

    def tags(self, rgb: np.ndarray) -> list[str]:
        """The phrases GroundingDINO is asked for on this image (lowercase, unique, in order)."""
        if self.tagger is None:
            tags = self.vocabulary if self.vocabulary is not None else DEFAULT_VOCABULARY
        else:
            tags = [t.strip().lower() for t in self.tagger(rgb)]
            if self.vocabulary is not None:
                allowed = set(self.vocabulary)
                tags = [t for t in tags if t in allowed]
        return list(dict.fromkeys(t for t in tags if t))

    def detect_rgb(self, rgb: np.ndarray) -> Detections:
        h, w = rgb.shape[:2]
        tags = self.tags(rgb)
        found = self.dino.detect_phrases(rgb, tags, self.box_threshold, self.text_threshold)
        keep = nms(found.boxes, found.scores, self.nms_iou)[: self.max_detections]
        boxes, scores, idx = found.boxes[keep], found.scores[keep], found.phrase_index[keep]
        masks, sam_iou = self.sam.segment(rgb, boxes, self.mask_threshold)
        big = masks.reshape(len(masks), h * w).sum(axis=1) >= self.min_mask_px
        return Detections(labels=[tags[int(i)] for i in idx[big]], scores=scores[big].astype(np.float32),
                          masks=masks[big].reshape(-1, h, w), boxes=boxes[big].astype(np.float32),
                          extra={"sam_iou": sam_iou[big], "tags": tags})

    def detect(self, image: ImageRef) -> Detections:
        return self.detect_rgb(image.rgb())
