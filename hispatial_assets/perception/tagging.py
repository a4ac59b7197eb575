"""Image taggers: which objects an image shows, so GroundingDINO is asked only for those (``grounded_sam``).

A tagger is any ``rgb -> list[str]`` callable. Two are built in:

- `SiglipTagger`: zero-shot multi-label tagging with SigLIP or SigLIP 2 (transformers, a local
  checkpoint). Every tag of a vocabulary (`vocabulary.EVERYDAY_OBJECTS` unless given) is scored
  against the image independently, with the model's own sigmoid (``sigmoid(scale * cos + bias)``, how
  SigLIP is trained); tags whose probability reaches ``threshold`` are kept, best first, at most
  ``top_k``. A tag's text embedding is the normalized mean over `PROMPT_TEMPLATES` (prompt
  ensembling); the vocabulary's embeddings are computed once per checkpoint and vocabulary and kept
  for the process. `calibrate_threshold` picks the threshold from labelled images.
- `RamTagger`: Recognize Anything (RAM++), which needs the ``ram`` package from its repository.

Expected local layout of a SigLIP checkpoint (``save_pretrained`` of model, tokenizer and image
processor; e.g. a snapshot of google/siglip-so400m-patch14-384 or google/siglip2-base-patch16-224)::

    <path>/config.json, model.safetensors, tokenizer files, preprocessor_config.json
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np
from PIL import Image

from hispatial_assets.perception.base import checkpoint_fingerprint, config_setting, require_checkpoint
from hispatial_assets.perception.grounding import resolve_device
from hispatial_assets.perception.vocabulary import PROMPT_TEMPLATES, load_vocabulary

# text embeddings per (checkpoint, vocabulary, templates): computed once per process
_TEXT_EMBEDDINGS: dict[tuple[str, str], np.ndarray] = {}


def tag_probabilities(image_embeds: np.ndarray, text_embeds: np.ndarray, logit_scale: float,
                      logit_bias: float) -> np.ndarray:
    """SigLIP's per-pair probabilities: ``sigmoid(exp(logit_scale) * cos + logit_bias)``.

    image_embeds (N, D), text_embeds (V, D), any norms -> (N, V) in [0, 1].
    """
    img = np.asarray(image_embeds, np.float64)
    txt = np.asarray(text_embeds, np.float64)
    img = img / np.linalg.norm(img, axis=-1, keepdims=True)
    txt = txt / np.linalg.norm(txt, axis=-1, keepdims=True)
    logits = np.exp(logit_scale) * img @ txt.T + logit_bias
    return 1.0 / (1.0 + np.exp(-logits))


def select_tags(probabilities: np.ndarray, vocabulary: list[str], threshold: float, top_k: int | None = None
                ) -> list[str]:
    """The tags whose probability reaches ``threshold``, most probable first (ties in vocabulary
    order), at most ``top_k``."""
    p = np.asarray(probabilities, np.float64).reshape(-1)
    if len(p) != len(vocabulary):
        raise ValueError(f"{len(p)} probabilities for a vocabulary of {len(vocabulary)} tags")
    order = np.argsort(-p, kind="stable")
    kept = [vocabulary[i] for i in order if p[i] >= threshold]
    return kept if top_k is None else kept[: int(top_k)]


def calibrate_threshold(probabilities: np.ndarray, truth: np.ndarray) -> float:
    """The threshold with the best micro F1 of tags over labelled images.

    probabilities (N, V) from a tagger, truth (N, V) bool (tag v is in image n). Candidates are the
    observed probabilities themselves; on ties the higher threshold wins (fewer GroundingDINO queries).
    """
    p = np.asarray(probabilities, np.float64).reshape(-1)
    t = np.asarray(truth, bool).reshape(-1)
    if p.shape != t.shape:
        raise ValueError("probabilities and truth must have the same shape")
    if not t.any():
        raise ValueError("calibration needs at least one true tag")
    order = np.argsort(-p, kind="stable")
    p, t = p[order], t[order]
    true_pos = np.cumsum(t)
    kept = np.arange(1, len(p) + 1)
    last = np.r_[p[1:] != p[:-1], True]  # a threshold keeps every tag with an equal probability
    f1 = np.where(last, 2 * true_pos / (kept + t.sum()), -1.0)
    best = np.flatnonzero(f1 == f1.max())[0]
    return float(p[best])


class SiglipTagger:
    """Zero-shot multi-label tags from a local SigLIP / SigLIP 2 checkpoint: ``tagger(rgb) -> list[str]``."""

    name = "siglip_tagger"
    version = "1"

    def __init__(self, path: str, vocabulary: list[str] | str | None = None, threshold: float = 0.1,
                 top_k: int = 20, templates: tuple[str, ...] | list[str] = PROMPT_TEMPLATES, device: str = "cpu",
                 setting: str = config_setting("detection", "siglip_path")):
        self.path = require_checkpoint(path, setting)
        self.vocabulary = load_vocabulary(vocabulary)
        self.threshold, self.top_k = float(threshold), int(top_k)
        self.templates = tuple(templates)
        if not self.templates or any("{}" not in t for t in self.templates):
            raise ValueError("every prompt template needs a '{}' for the tag")
        self.device = resolve_device(device)
        self._model: Any = None

    def settings(self) -> dict:
        words = json.dumps([self.vocabulary, self.templates]).encode()
        return {"threshold": self.threshold, "top_k": self.top_k, "tags": len(self.vocabulary),
                "vocabulary": hashlib.sha256(words).hexdigest()[:12], "checkpoint": checkpoint_fingerprint(self.path)}

    def _load(self) -> None:
        from transformers import AutoImageProcessor, AutoModel, AutoTokenizer

        self.tokenizer = AutoTokenizer.from_pretrained(self.path, local_files_only=True)
        self.image_processor = AutoImageProcessor.from_pretrained(self.path, local_files_only=True)
        self._model = AutoModel.from_pretrained(self.path, local_files_only=True).to(self.device).eval()

    @property
    def model(self) -> Any:
        if self._model is None:
            self._load()
        return self._model

    def _text_features(self, texts: list[str], batch: int = 256) -> np.ndarray:
        import torch

        model = self.model
        length = int(model.config.text_config.max_position_embeddings)
        out = []
        for s in range(0, len(texts), batch):
            tokens = self.tokenizer(texts[s: s + batch], padding="max_length", max_length=length, truncation=True,
                                    return_tensors="pt").to(self.device)
            with torch.no_grad():
                feats = model.get_text_features(input_ids=tokens["input_ids"])
            feats = getattr(feats, "pooler_output", feats)
            out.append(feats.float().cpu().numpy())
        return np.concatenate(out).astype(np.float64)

    @property
    def text_embeddings(self) -> np.ndarray:
        """(V, D) unit text embeddings of the vocabulary, ensembled over the templates; cached."""
        key = (f"{self.path}:{checkpoint_fingerprint(self.path)}", self.settings()["vocabulary"])
        if key not in _TEXT_EMBEDDINGS:
            texts = [t.format(tag) for tag in self.vocabulary for t in self.templates]
            feats = self._text_features(texts).reshape(len(self.vocabulary), len(self.templates), -1)
            feats /= np.linalg.norm(feats, axis=-1, keepdims=True)
            mean = feats.mean(axis=1)
            _TEXT_EMBEDDINGS[key] = mean / np.linalg.norm(mean, axis=-1, keepdims=True)
        return _TEXT_EMBEDDINGS[key]

    def image_embedding(self, rgb: np.ndarray) -> np.ndarray:
        import torch

        model = self.model
        inputs = self.image_processor(images=Image.fromarray(np.asarray(rgb, np.uint8)), return_tensors="pt")
        with torch.no_grad():
            feats = model.get_image_features(**inputs.to(self.device))
        return getattr(feats, "pooler_output", feats).float().cpu().numpy().reshape(-1)

    def probabilities(self, rgb: np.ndarray) -> np.ndarray:
        """(V,) probability that each vocabulary tag shows in the image."""
        text = self.text_embeddings
        scale, bias = (float(self.model.logit_scale.detach().reshape(-1)[0]),
                       float(self.model.logit_bias.detach().reshape(-1)[0]))
        return tag_probabilities(self.image_embedding(rgb)[None], text, scale, bias)[0]

    def __call__(self, rgb: np.ndarray) -> list[str]:
        return select_tags(self.probabilities(rgb), self.vocabulary, self.threshold, self.top_k)


class RamTagger:
    """Recognize Anything (RAM / RAM++) as a tagger: ``tagger(rgb) -> list[str]``.

    Needs the ``ram`` package (``pip install git+https://github.com/xinyu1205/recognize-anything.git``)
    and a local checkpoint file; it never downloads.
    """

    name = "ram_plus"
    version = "1"

    def __init__(self, path: str, image_size: int = 384, vit: str = "swin_l", device: str = "cpu",
                 setting: str = config_setting("detection", "tagger")):
        self.path = require_checkpoint(path, setting)
        self.image_size, self.vit, self.device = image_size, vit, resolve_device(device)
        self._model: Any = None
        self._transform: Any = None

    def settings(self) -> dict:
        return {"image_size": self.image_size, "vit": self.vit, "checkpoint": checkpoint_fingerprint(self.path)}

    def _load(self) -> None:
        try:
            from ram import get_transform, inference_ram
            from ram.models import ram_plus
        except ImportError as e:
            raise ImportError(
                "the RAM tagger needs the `ram` package: "
                "pip install git+https://github.com/xinyu1205/recognize-anything.git") from e
        self._model = ram_plus(pretrained=self.path, image_size=self.image_size, vit=self.vit).eval().to(self.device)
        self._transform = get_transform(image_size=self.image_size)
        self._infer = inference_ram

    def __call__(self, rgb: np.ndarray) -> list[str]:
        import torch

        if self._model is None:
            self._load()
        x = self._transform(Image.fromarray(np.asarray(rgb, dtype=np.uint8))).unsqueeze(0).to(self.device)
        with torch.no_grad():
            english = self._infer(x, self._model)[0]
        return [t.strip() for t in english.split("|") if t.strip()]
