"""QA inputs for one drop, from the stored tables (what the qa_l* assets feed `generate_all`)."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator

import polars as pl

from hispatial_assets.qa.scene import ImageInputs


def drop_inputs(images: pl.DataFrame, objects: pl.DataFrame | None, referrals: pl.DataFrame | None,
                point_maps: Callable | None, rotations: dict | None, input_versions: str) -> Iterator[ImageInputs]:
    objs = {k[0]: g for k, g in objects.group_by("image_id")} if objects is not None else {}
    refs = {k[0]: g for k, g in referrals.group_by("image_id")} if referrals is not None else {}
    for row in images.iter_rows(named=True):
        image_id = row["image_id"]
        pm = point_maps(image_id) if point_maps else None
        if objects is not None and image_id not in objs:
            continue
        if point_maps is not None and pm is None:
            continue
        yield ImageInputs(
            drop_id=row["drop_id"], image_id=image_id, width=row["width"], height=row["height"],
            objects=objs.get(image_id), referrals=refs.get(image_id), point_map=pm,
            rotation=(rotations or {}).get(image_id), input_versions=input_versions,
        )


def in_batches(images: Iterable[ImageInputs], size: int) -> Iterator[list[ImageInputs]]:
    """Consecutive batches of ``size`` images: QA is generated batch by batch, so a drop's rows are
    held as Python objects for one batch at a time and as compact columns otherwise."""
    images = iter(images)
    while batch := list(itertools.islice(images, size)):
        yield batch
