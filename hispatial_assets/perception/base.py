"""Small protocols every perception backend implements (DESIGN §5).

A backend has a ``name`` and a ``version``; ``identity(backend)`` (name, version and the settings that
change its outputs) goes into the ``code_version`` of every asset that calls it, so changing a model
refreshes exactly the partitions downstream of it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np
import polars as pl

from hispatial_assets.geometry.camera import PointMap
from hispatial_assets.geometry.frames import Gravity
from hispatial_assets.storage.images import ImageRef  # what every backend takes; it lives with the drop's files


class CheckpointNotFound(FileNotFoundError):
    """A real-model backend was asked to load from a local path that does not exist."""

    def __init__(self, path: str, setting: str):
        self.path, self.setting = path, setting
        super().__init__(
            f"checkpoint not found at {path!r} (setting {setting}); real backends never download "
            f"weights: put the checkpoint there or point {setting} at a local copy"
        )


def config_setting(stage: str, key: str) -> str:
    """How a user sets a backend's ``key``: the key path in the config file (see config.py)."""
    return f"stages.{stage}.{key} in $HISPATIAL_CONFIG"


@dataclass
class Detections:
    """Instances found in one image: masks (N, H, W) bool, labels, scores, 2D boxes (N, 4) xyxy pixels."""

    labels: list[str]
    scores: np.ndarray
    masks: np.ndarray
    boxes: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. ground-truth object ids

    def __len__(self) -> int:
        return len(self.labels)


@runtime_checkable
class Backend(Protocol):
    name: str
    version: str


class PointMapBackend(Backend, Protocol):
    """A backend may also offer ``estimate_batch(images) -> list[PointMap]`` with a ``batch_size``;
    the point-map stage then hands it that many images at a time."""

    def estimate(self, image: ImageRef) -> PointMap: ...


class GravityBackend(Backend, Protocol):
    def estimate(self, image: ImageRef, point_map: PointMap) -> Gravity: ...


class DetectionBackend(Backend, Protocol):
    def detect(self, image: ImageRef) -> Detections: ...


class OrientationBackend(Backend, Protocol):
    def estimate(self, image: ImageRef, detections: Detections, boxes: pl.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Front yaw per object (radians, gravity frame; NaN = unknown / no front) and a confidence in [0, 1]."""
        ...


class GroundingBackend(Backend, Protocol):
    def ground(self, image: ImageRef, expression: str) -> tuple[np.ndarray, np.ndarray]:
        """Candidate boxes (K, 4) xyxy pixels and scores (K,) for a referring expression."""
        ...


class ReferralBackend(Backend, Protocol):
    def refer(self, image: ImageRef, objects: pl.DataFrame) -> pl.DataFrame:
        """One row per object of one image, columns of `schema.REFERRALS`."""
        ...


def settings_of(backend: Any) -> dict[str, Any]:
    """The settings that change a backend's outputs (its ``settings`` attribute, if any)."""
    s = getattr(backend, "settings", None)
    return dict(s() if callable(s) else (s or {}))


def identity_of(name: str, version: str, settings: dict[str, Any] | None) -> str:
    """``name@version`` plus a short hash of the settings that change outputs."""
    base = f"{name}@{version}"
    if not settings:
        return base
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True, default=str).encode()).hexdigest()[:8]
    return f"{base}+{digest}"


def identity(backend: Any) -> str:
    """``name@version`` plus a short hash of output-changing settings: part of code versions."""
    return identity_of(backend.name, str(backend.version), settings_of(backend))


def require_checkpoint(path: str | None, setting: str) -> str:
    """The local checkpoint path, or `CheckpointNotFound` naming the setting that points at it."""
    import os

    if not path or not os.path.exists(path):
        raise CheckpointNotFound(str(path), setting)
    return str(path)


def load_local(processor_cls: Any, model_cls: Any, path: str, device: str) -> tuple[Any, Any]:
    """A transformers processor and model from a local folder only (never the hub), the model on
    ``device`` in eval mode."""
    processor = processor_cls.from_pretrained(path, local_files_only=True)
    model = model_cls.from_pretrained(path, local_files_only=True)
    return processor, model.to(device).eval()


def checkpoint_fingerprint(path: str) -> str:
    """Short hash of a local checkpoint (config files' bytes + every file's name and size).

    Goes into a real backend's settings, so swapping the weights behind the same path changes its identity.
    """
    import hashlib
    import os

    h = hashlib.sha256()
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(d, f) for d, _, fs in os.walk(path) for f in fs)
    for f in files:
        rel = os.path.relpath(f, path) if f != path else os.path.basename(f)
        h.update(f"{rel}:{os.path.getsize(f)}\n".encode())
        if f.endswith(".json") and os.path.getsize(f) < 1_000_000:
            with open(f, "rb") as fh:
                h.update(fh.read())
    return h.hexdigest()[:12]
