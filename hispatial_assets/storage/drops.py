"""Reading a drop folder: which files are images, which are sidecars, which are rejected and why."""

from __future__ import annotations

import json
from dataclasses import dataclass

import polars as pl

from hispatial_assets import schema
from hispatial_assets.storage import io
from hispatial_assets.storage.images import IMAGE_SUFFIXES, ImageRejected, probe_image

READY_MARKER = "_READY"
# sidecar suffixes that stages know how to use, keyed by what they hold
SIDECARS = {
    "truth": ".truth.json",  # scene-engine ground truth (+ .truth.npz)
    "depth": ".depth.png",  # sensor depth, uint16 millimeters
    "intrinsics": ".intrinsics.json",
}
SIDECAR_SUFFIXES = (".truth.json", ".truth.npz", ".depth.png", ".intrinsics.json")
IGNORED = (READY_MARKER, ".DS_Store", "annotations.json")


@dataclass
class DropManifest:
    images: pl.DataFrame  # schema.IMAGES
    rejected: pl.DataFrame  # schema.REJECTED


def list_drop_files(drop_uri: str) -> list[str]:
    fs, path = io.fs_and_path(drop_uri)
    if not fs.isdir(path):
        raise FileNotFoundError(f"drop folder not found: {drop_uri}")
    proto = drop_uri.split("://", 1)[0] + "://" if "://" in drop_uri else ""
    files = [p for p in fs.find(path) if not p.rsplit("/", 1)[-1].startswith(".")]
    return sorted(proto + p if proto and not p.startswith(proto) else p for p in files)


def image_id_for(uri: str, drop_uri: str) -> str:
    """Image id = path inside the drop without suffix, '/' -> '__' (stable, unique, readable)."""
    rel = uri[len(drop_uri.rstrip("/")) + 1 :] if uri.startswith(drop_uri.rstrip("/")) else uri.rsplit("/", 1)[-1]
    return rel.rsplit(".", 1)[0].replace("/", "__")


def scan_drop(drop_uri: str, drop_id: str) -> DropManifest:
    """One row per readable image; every other non-sidecar file is rejected with a reason."""
    files = list_drop_files(drop_uri)
    present = set(files)
    images, rejected = [], []
    for uri in files:
        name = uri.rsplit("/", 1)[-1]
        if name in IGNORED or name.endswith(SIDECAR_SUFFIXES) or name.endswith(".tmp") or ".tmp-" in name:
            continue
        if not name.lower().endswith(IMAGE_SUFFIXES):
            rejected.append({"drop_id": drop_id, "uri": uri, "reason": f"unsupported file type {name.rsplit('.', 1)[-1] if '.' in name else '(none)'!r}", "stage": "drop_manifest"})
            continue
        data = io.read_bytes(uri)
        try:
            width, height, fmt = probe_image(data)
        except ImageRejected as e:
            rejected.append({"drop_id": drop_id, "uri": uri, "reason": str(e), "stage": "drop_manifest"})
            continue
        stem = uri.rsplit(".", 1)[0]
        sidecars = sorted(kind for kind, suffix in SIDECARS.items() if stem + suffix in present)
        images.append({
            "drop_id": drop_id, "image_id": image_id_for(uri, drop_uri), "uri": uri, "width": width,
            "height": height, "sha256": io.sha256_bytes(data), "bytes": len(data), "format": fmt,
            "sidecars": json.dumps(sidecars),
        })
    images_df = schema.conform(pl.DataFrame(images), "images") if images else schema.empty("images")
    rejected_df = schema.conform(pl.DataFrame(rejected), "rejected") if rejected else schema.empty("rejected")
    return DropManifest(images=images_df.sort("image_id"), rejected=rejected_df.sort("uri"))


def is_ready(drop_uri: str) -> bool:
    return io.exists(io.join(drop_uri, READY_MARKER))
