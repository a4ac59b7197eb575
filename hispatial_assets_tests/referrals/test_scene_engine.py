"""Template referrals over the scene engine's own scenes resolve, for an independent reader, to their object."""

from __future__ import annotations

from collections import Counter

import polars as pl
import pytest

from hispatial_assets.perception.referral.template import refer_objects

from . import scene_corpus
from .resolver import Resolver

N_RENDERED = 60  # rendering costs; about 9 visible objects per scene
N_LAYOUTS = 80


def assert_all_resolve(corpus) -> pl.DataFrame:
    checked, wrong, parts = 0, [], []
    for objects, width, height in corpus:
        referrals = refer_objects(objects, width, height)
        parts.append(referrals)
        readers = [Resolver(objects), Resolver(objects, strict=True)]
        for row in referrals.filter(pl.col("method") == "template").iter_rows(named=True):
            checked += 1
            for reader in readers:
                got = reader.resolve(row["expression"])
                if got != {row["object_id"]}:
                    wrong.append((row["image_id"], row["expression"], row["object_id"], got))
    assert checked >= 500, f"only {checked} verified referrals"
    assert wrong == []
    return pl.concat(parts)


@pytest.fixture(scope="module")
def rendered():
    return scene_corpus.rendered_corpus(N_RENDERED)


@pytest.fixture(scope="module")
def layouts():
    return scene_corpus.layout_corpus(N_LAYOUTS)


def test_rendered_scene_objects_resolve_to_their_object(rendered):
    referrals = assert_all_resolve(rendered)
    assert (referrals["method"] == "fallback").mean() < 0.1


def test_rendered_scenes_have_crowded_classes(rendered):
    assert sum(max(Counter(o["label"].to_list()).values(), default=0) >= 3 for o, _, _ in rendered) >= 5


def test_scene_layout_objects_resolve_to_their_object(layouts):
    referrals = assert_all_resolve(layouts)
    assert (referrals["method"] == "fallback").mean() < 0.1
    assert sum(max(Counter(o["label"].to_list()).values()) >= 3 for o, _, _ in layouts) >= 10
