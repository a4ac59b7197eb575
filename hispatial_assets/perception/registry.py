"""Config name -> backend class, per stage. Classes are imported lazily so choosing `synthetic`
never imports transformers; a backend's identity (name@version+settings) is known without
loading any weights, which is what the assets' code versions are built from."""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

from hispatial_assets.perception.base import identity, identity_of

_P = "hispatial_assets.perception"
BACKENDS: dict[str, dict[str, str]] = {
    "point_maps": {
        "synthetic": f"{_P}.point_maps:SyntheticPointMaps",
        "synthetic_noisy": f"{_P}.point_maps:SyntheticNoisyPointMaps",
        "sensor": f"{_P}.point_maps:SensorPointMaps",
        "moge": f"{_P}.depth_models:MogePointMaps",
        "depth_anything": f"{_P}.depth_models:DepthAnythingPointMaps",
        "depth_pro": f"{_P}.depth_models:DepthProPointMaps",
    },
    "gravity": {
        "synthetic": f"{_P}.synthetic:SyntheticGravity",
        "floor_ransac": f"{_P}.gravity:FloorRansacGravity",
        "camera_up": f"{_P}.gravity:CameraUpGravity",
    },
    "detection": {
        "synthetic": f"{_P}.synthetic:SyntheticDetector",
        "annotations": f"{_P}.annotations:AnnotationsDetector",
        "grounded_sam": f"{_P}.grounded_sam:GroundedSamDetector",
    },
    "orientation": {
        "synthetic": f"{_P}.synthetic:SyntheticOrientation",
        "box_geometry": f"{_P}.orientation:BoxGeometryOrientation",
        "orient_anything": f"{_P}.orient_anything:OrientAnythingOrientation",
    },
    "referral": {
        "template": f"{_P}.referral.template:TemplateReferrer",
        "vlm": f"{_P}.referral.vlm:VlmReferrer",
    },
}

# The default run on scene-engine drops is what a real pipeline runs: a point map with the errors of a
# monocular estimator (per-image scale included), gravity from the floor plane, the truth's masks and
# classes but boxes, colors and visibility estimated from the pixels, orientation from the box.
DEFAULTS: dict[str, dict[str, Any]] = {
    "point_maps": {"backend": "synthetic_noisy"},
    "gravity": {"backend": "floor_ransac"},
    "detection": {"backend": "synthetic", "oracle_attributes": False},
    "orientation": {"backend": "box_geometry"},
    "referral": {"backend": "template"},
}
# The exact path: every stage reads the scene engine's truth, so every answer is exact (the
# `rgb_gt_xyz` recipe's data; the default before estimation was).
EXACT: dict[str, dict[str, Any]] = {
    "point_maps": {"backend": "synthetic"},
    "gravity": {"backend": "synthetic"},
    "detection": {"backend": "synthetic", "oracle_attributes": True},
    "orientation": {"backend": "synthetic"},
    "referral": {"backend": "template"},
}
PROFILES: dict[str, dict[str, dict[str, Any]]] = {"estimated": DEFAULTS, "exact": EXACT}


class UnknownBackend(ValueError):
    pass


def backend_class(stage: str, name: str) -> type:
    try:
        target = BACKENDS[stage][name]
    except KeyError:
        known = ", ".join(sorted(BACKENDS.get(stage, {})))
        raise UnknownBackend(f"unknown {stage} backend {name!r}; known: {known}") from None
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr)


class _Required:
    def __repr__(self) -> str:
        return "required"


REQUIRED = _Required()  # the default of a setting a backend cannot run without (a checkpoint path)


@dataclass(frozen=True)
class Setting:
    """One setting a backend takes: a keyword of its constructor, with its default and type."""

    name: str
    default: Any  # REQUIRED when there is none
    annotation: str


def backend_setting_specs(stage: str, name: str) -> dict[str, Setting]:
    """The settings a backend declares: its constructor's keywords (private ones aside), with defaults.
    What a stage's config may hold for it (config.py checks against this; the README lists it)."""
    params = inspect.signature(backend_class(stage, name)).parameters.values()
    return {p.name: Setting(p.name, REQUIRED if p.default is p.empty else p.default,
                            p.annotation if isinstance(p.annotation, str) else getattr(p.annotation, "__name__", ""))
            for p in params if not p.name.startswith("_") and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def spec_identity(stage: str, spec: dict[str, Any]) -> str:
    """The identity of the backend a spec builds: its own ``settings()`` (defaults included, and for
    real models a fingerprint of the checkpoint files), so new weights at the same path still change
    the code version. Building is cheap (weights load on first use); when it fails (a missing
    checkpoint) the explicit spec stands in, and the run itself reports the missing path."""
    cls = backend_class(stage, spec["backend"])
    settings = backend_settings(stage, spec)
    try:
        return identity(cls(**settings))
    except (FileNotFoundError, ImportError, TypeError, ValueError):
        return identity_of(cls.name, str(cls.version), settings) + "+unbuilt"


def backend_settings(stage: str, spec: dict[str, Any]) -> dict[str, Any]:
    """The constructor settings of a stage spec: its flat keys plus the block named after the chosen
    backend (``{"backend": "moge", "moge": {"path": ...}}``). Other backends' blocks are ignored, and so
    are flat keys only other backends take (a config holds them for when a variable switches backend)."""
    names = BACKENDS.get(stage, {})
    chosen = spec["backend"]
    own = backend_setting_specs(stage, chosen)
    others = {k for n in names if n != chosen for k in backend_setting_specs(stage, n)}
    block = spec.get(chosen)
    flat = {k: v for k, v in spec.items() if k != "backend" and k not in names and (k in own or k not in others)}
    return {**flat, **(block if isinstance(block, dict) else {})}


def build_backend(stage: str, spec: dict[str, Any]) -> Any:
    cls = backend_class(stage, spec["backend"])
    return cls(**backend_settings(stage, spec))
