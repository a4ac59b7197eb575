"""`annotations` detection: a COCO-style JSON sidecar in the drop (boxes, RLE or polygon masks).

The sidecar is ``<drop>/annotations.json`` with the usual ``images`` (``file_name``), ``annotations``
(``image_id``, ``category_id``, ``bbox`` xywh, ``segmentation`` as RLE or polygons, optional
``score``) and ``categories`` (``id``, ``name``). Images are matched by file name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from pycocotools import mask as mask_utils

from hispatial_assets.perception.base import Detections, ImageRef
from hispatial_assets.storage import io


def _segmentation_mask(seg, h: int, w: int, bbox) -> np.ndarray:
    if isinstance(seg, dict):  # RLE (compressed string or uncompressed counts list)
        rle = seg if isinstance(seg.get("counts"), (str, bytes)) else mask_utils.frPyObjects(seg, h, w)
        if isinstance(rle.get("counts"), str):
            rle = {"size": rle["size"], "counts": rle["counts"].encode()}
        return mask_utils.decode(rle).astype(bool)
    if isinstance(seg, list) and seg:  # polygons
        return mask_utils.decode(mask_utils.merge(mask_utils.frPyObjects(seg, h, w))).astype(bool)
    x, y, bw, bh = bbox  # no segmentation: the box itself
    m = np.zeros((h, w), bool)
    m[int(y):int(np.ceil(y + bh)), int(x):int(np.ceil(x + bw))] = True
    return m


@dataclass
class AnnotationsDetector:
    sidecar: str = "annotations.json"
    min_score: float = 0.0
    name = "annotations"
    version = "1"
    _cache: dict = field(default_factory=dict, repr=False)

    def settings(self) -> dict:
        return {"sidecar": self.sidecar, "min_score": self.min_score}

    def _load(self, drop_uri: str) -> dict:
        if drop_uri not in self._cache:
            uri = io.join(drop_uri, self.sidecar)
            if not io.exists(uri):
                raise FileNotFoundError(f"annotations detector needs {uri}, which is missing")
            coco = io.read_json(uri)
            cats = {c["id"]: c["name"] for c in coco.get("categories", [])}
            by_file = {im["file_name"].rsplit("/", 1)[-1]: im["id"] for im in coco.get("images", [])}
            anns: dict = {}
            for a in coco.get("annotations", []):
                anns.setdefault(a["image_id"], []).append(a)
            self._cache[drop_uri] = {"cats": cats, "by_file": by_file, "anns": anns}
        return self._cache[drop_uri]

    def detect(self, image: ImageRef) -> Detections:
        drop_uri = image.uri.rsplit("/", 1)[0]
        coco = self._load(drop_uri)
        image_key = coco["by_file"].get(image.uri.rsplit("/", 1)[-1])
        anns = [a for a in coco["anns"].get(image_key, []) if a.get("score", 1.0) >= self.min_score]
        h, w = image.height, image.width
        masks = np.stack([_segmentation_mask(a.get("segmentation"), h, w, a["bbox"]) for a in anns]) if anns \
            else np.zeros((0, h, w), bool)
        boxes = np.array([[a["bbox"][0], a["bbox"][1], a["bbox"][0] + a["bbox"][2], a["bbox"][1] + a["bbox"][3]]
                          for a in anns], dtype=np.float32).reshape(-1, 4)
        return Detections(labels=[coco["cats"].get(a["category_id"], str(a["category_id"])) for a in anns],
                          scores=np.array([a.get("score", 1.0) for a in anns], dtype=np.float32),
                          masks=masks, boxes=boxes)
