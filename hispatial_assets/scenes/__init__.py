"""Procedural scene engine: the embedded default data source, with exact ground truth (DESIGN §5).

``generate_scene(seed, kind)`` builds a room or a street from open3d primitives, ``render`` ray-casts it
into RGB, z-depth and instance ids plus per-object truth in the gravity frame, ``write_drop`` writes
drops that the pipeline ingests, and ``load_truth`` / ``truth_objects`` read that truth back.
No dagster here.
"""

from hispatial_assets.scenes.object_classes import CLASSES, INDOOR_LABELS, OUTDOOR_LABELS, PALETTE, WITH_FRONT
from hispatial_assets.scenes.truth_io import (
    BACKEND,
    READY,
    SceneTruth,
    image_id,
    image_kind,
    image_seed,
    load_truth,
    truth_objects,
    write_drop,
    write_image,
)
from hispatial_assets.scenes.layout import Camera, Scene, SceneObject, Surface, generate_scene
from hispatial_assets.scenes.render import OCCLUDED_BELOW, SURFACE_CODES, RenderedImage, render

# bump when generated scenes or renders change: part of the code version of scene-engine drops
ENGINE_VERSION = "1"

__all__ = [
    "BACKEND", "CLASSES", "Camera", "ENGINE_VERSION", "INDOOR_LABELS", "OCCLUDED_BELOW", "OUTDOOR_LABELS",
    "PALETTE", "READY", "RenderedImage", "SURFACE_CODES", "Scene", "SceneObject", "SceneTruth", "Surface",
    "WITH_FRONT", "generate_scene", "image_id", "image_kind", "image_seed", "load_truth", "render",
    "truth_objects", "write_drop", "write_image",
]
