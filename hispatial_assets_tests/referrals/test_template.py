"""The template referrer names every object so that an independent reader finds exactly that object."""

from __future__ import annotations

from collections import Counter

import numpy as np
import polars as pl
import pytest

from hispatial_assets import schema
from hispatial_assets.perception.base import identity
from hispatial_assets.storage.images import ImageRef
from hispatial_assets.perception.referral.common import fallback_expression
from hispatial_assets.perception.referral.template import TemplateReferrer, refer_objects

from .layouts import HEIGHT, WIDTH, layout_corpus, project_box
from .resolver import Resolver

FLOOR_Z = -1.5
DIMS = {"chair": (0.5, 0.5, 0.9), "table": (1.2, 0.8, 0.75), "sofa": (2.0, 0.9, 0.85), "box": (0.4, 0.3, 0.3),
        "mug": (0.09, 0.09, 0.1), "bottle": (0.07, 0.07, 0.25), "lamp": (0.35, 0.35, 1.5)}


def scene(*specs: dict) -> pl.DataFrame:
    """Hand-made object table: each spec gives label and x, y (and optionally color, z, dims, yaw)."""
    rows = []
    for i, spec in enumerate(specs):
        w, d, h = spec.get("dims", DIMS.get(spec["label"], (0.5, 0.5, 0.5)))
        z = spec.get("z", FLOOR_Z + h / 2)
        o = dict(label=spec["label"], color=spec.get("color", "gray"), center_x=float(spec["x"]),
                 center_y=float(spec["y"]), center_z=float(z), width=w, depth=d, height=h, yaw=spec.get("yaw", 0.0))
        box, truncated = project_box(o)
        rows.append(o | dict(object_id=i, box_x0=box[0], box_y0=box[1], box_x1=box[2], box_y1=box[3],
                             truncated=truncated, occluded=False, drop_id="hand", image_id="img"))
    return pl.DataFrame(rows).with_columns(pl.col("object_id").cast(pl.Int32))


def on_top(support: dict, label: str, dx: float = 0.0, dy: float = 0.0, **extra) -> dict:
    """Spec of a small item standing on ``support`` (a spec), offset from its center."""
    sh = support.get("dims", DIMS[support["label"]])[2]
    h = extra.get("dims", DIMS[label])[2]
    top = FLOOR_Z + sh
    return dict(label=label, x=support["x"] + dx, y=support["y"] + dy, z=top + h / 2, **extra)


def expressions(objects: pl.DataFrame, **settings) -> list[str]:
    return refer_objects(objects, WIDTH, HEIGHT, **settings)["expression"].to_list()


# --------------------------------------------------------------------------------------------- corpus


@pytest.fixture(scope="module")
def corpus() -> list[tuple[pl.DataFrame, pl.DataFrame]]:
    frames = layout_corpus(120, seed=1)
    return [(f, refer_objects(f, WIDTH, HEIGHT)) for f in frames]


def test_corpus_is_big_and_has_crowded_classes(corpus):
    assert sum(len(f) for f, _ in corpus) >= 500
    crowded = sum(max(Counter(f["label"].to_list()).values()) >= 3 for f, _ in corpus)
    assert crowded >= 30


@pytest.mark.parametrize("strict", [False, True], ids=["plain_reading", "margin_reading"])
def test_every_verified_expression_denotes_exactly_its_object(corpus, strict):
    checked, wrong = 0, []
    for objects, referrals in corpus:
        resolver = Resolver(objects, strict=strict)
        for row in referrals.filter(pl.col("method") == "template").iter_rows(named=True):
            got = resolver.resolve(row["expression"])
            checked += 1
            if got != {row["object_id"]}:
                wrong.append((row["image_id"], row["expression"], row["object_id"], got))
    assert checked >= 500
    assert wrong == []


def test_referrals_of_noisy_geometry_still_denote_their_object_in_the_truth(corpus):
    # the margins absorb estimation errors: refer on centers off by up to 2 cm per axis, read on the truth
    # (directions and selectors plainly, tolerance relations halfway between the template's two thresholds)
    rng = np.random.default_rng(5)
    checked, wrong = 0, []
    for truth, _ in corpus:
        noise = {c: rng.uniform(-0.02, 0.02, len(truth)) for c in ("center_x", "center_y", "center_z")}
        noisy = truth.with_columns([pl.col(c) + pl.Series(v) for c, v in noise.items()])
        reader = Resolver(truth, on_tolerance_m=0.1, contact_tolerance_m=0.125, footprint_grow_m=0.075)
        for row in refer_objects(noisy, WIDTH, HEIGHT).filter(pl.col("method") == "template").iter_rows(named=True):
            checked += 1
            if reader.resolve(row["expression"]) != {row["object_id"]}:
                wrong.append((row["image_id"], row["expression"], row["object_id"]))
    assert checked >= 500 and wrong == []


def test_corpus_uses_every_strategy_and_relation(corpus):
    referrals = pl.concat([r for _, r in corpus])
    strategies = Counter(referrals["strategy"].to_list())
    assert {"class", "attribute", "relation"} <= set(strategies)
    text = " | ".join(referrals["expression"].to_list())
    for phrase in ("the largest", "the bigger", "leftmost", "closest to the camera", " on the ", " behind the ",
                   " to the left of the ", " and "):
        assert phrase in text, phrase
    assert strategies["fallback"] / len(referrals) < 0.05


def test_verified_flag_and_method_agree(corpus):
    referrals = pl.concat([r for _, r in corpus])
    assert (referrals["verified"] == (referrals["method"] == "template")).all()
    assert ((referrals["method"] == "fallback") == (referrals["strategy"] == "fallback")).all()
    assert referrals["iou"].is_null().all()


def test_supported_by_is_not_used(corpus):
    for objects, referrals in corpus[:20]:
        scrambled = objects.with_columns(pl.col("supported_by").shuffle(seed=3))
        assert expressions(scrambled) == referrals["expression"].to_list()
        assert expressions(objects.drop("supported_by")) == referrals["expression"].to_list()


def test_referrals_are_deterministic_and_independent_of_row_order(corpus):
    for objects, referrals in corpus[:20]:
        assert refer_objects(objects, WIDTH, HEIGHT).equals(referrals)
        shuffled = refer_objects(objects.sample(fraction=1.0, shuffle=True, seed=7), WIDTH, HEIGHT)
        assert dict(zip(shuffled["object_id"], shuffled["expression"])) == dict(
            zip(referrals["object_id"], referrals["expression"]))


# --------------------------------------------------------------------------------------------- shortest first


def test_unique_class_gets_the_bare_class():
    objects = scene(dict(label="sofa", x=0, y=4), dict(label="chair", x=-1, y=3), dict(label="chair", x=1, y=3))
    assert expressions(objects)[0] == "the sofa"


def test_color_tells_apart_same_class():
    objects = scene(dict(label="chair", x=0, y=3, color="red"), dict(label="chair", x=0.05, y=3.05, color="blue"))
    assert expressions(objects) == ["the red chair", "the blue chair"]


def test_size_uses_comparative_for_two_and_superlative_for_three():
    two = scene(dict(label="box", x=0, y=3, dims=(0.6, 0.5, 0.5)), dict(label="box", x=0.05, y=3.05))
    assert expressions(two) == ["the bigger box", "the smaller box"]
    three = scene(dict(label="box", x=0, y=3, dims=(0.6, 0.5, 0.5)), dict(label="box", x=0.05, y=3.05),
                  dict(label="box", x=0.1, y=2.95, dims=(0.2, 0.2, 0.2)))
    got = expressions(three)
    assert (got[0], got[2]) == ("the largest box", "the smallest box")


def test_position_superlatives_need_the_margin():
    objects = scene(*(dict(label="bottle", x=x, y=3, z=-0.6) for x in (-1.0, 0.0, 1.0)))
    assert expressions(objects)[0] == "the leftmost bottle"
    assert expressions(objects)[2] == "the rightmost bottle"
    close = scene(dict(label="bottle", x=0.0, y=3, z=-0.6), dict(label="bottle", x=0.1, y=3.05, z=-0.6))
    assert all(e.startswith("the bottle in the box [") for e in expressions(close))


def test_closest_to_the_camera_by_distance():
    objects = scene(dict(label="chair", x=0, y=2), dict(label="chair", x=0.05, y=4), dict(label="chair", x=-0.05, y=6))
    assert expressions(objects)[0] == "the chair closest to the camera"
    assert expressions(objects)[2] == "the chair farthest from the camera"


def test_on_is_derived_from_boxes():
    # three equal mugs, one per table; the middle one is neither leftmost, rightmost, closest nor farthest
    red = dict(label="table", x=0.0, y=3.3, color="red")
    left, right = dict(label="table", x=-1.3, y=3.0, color="blue"), dict(label="table", x=1.3, y=3.0, color="blue")
    objects = scene(red, left, right, on_top(red, "mug"), on_top(left, "mug"), on_top(right, "mug"))
    got = expressions(objects)
    assert got[3:] == ["the mug on the red table", "the leftmost mug", "the rightmost mug"]
    assert Resolver(objects).resolve(got[3]) == {3}


def test_relation_to_an_anchor_when_no_selector_separates():
    # the back chair is neither leftmost, rightmost, closest nor farthest, but alone behind the lamp
    objects = scene(dict(label="chair", x=0.0, y=3.5), dict(label="chair", x=-1.5, y=3.2),
                    dict(label="chair", x=1.5, y=3.2), dict(label="chair", x=0.0, y=2.3),
                    dict(label="lamp", x=0.6, y=3.3))
    got = expressions(objects)
    assert got[0] == "the chair behind the lamp"
    assert Resolver(objects).resolve(got[0]) == {0}
    assert Resolver(objects, strict=True).resolve(got[0]) == {0}


@pytest.mark.parametrize("others_y, expected", [(3.8, "the chair behind the lamp"), (3.97, None)],
                         ids=["others_clearly_in_front", "others_level_with_the_anchor"])
def test_other_candidates_must_clearly_fail_a_relation(others_y, expected):
    # the back chair is neither leftmost, rightmost, closest nor farthest; "behind the lamp" names it only
    # when the other chairs stand clearly (half a margin) in front of the lamp, not just barely
    objects = scene(dict(label="chair", x=0.0, y=4.5), dict(label="lamp", x=0.0, y=4.0),
                    dict(label="chair", x=-2.3, y=others_y), dict(label="chair", x=2.3, y=others_y))
    got = expressions(objects)[0]
    if expected:
        assert got == expected
    else:
        assert "behind the lamp" not in got


def test_objects_closer_than_the_margin_are_not_told_apart_by_direction():
    objects = scene(dict(label="sofa", x=0.0, y=4.0), dict(label="chair", x=-0.07, y=2.5),
                    dict(label="chair", x=0.07, y=2.5))
    assert refer_objects(objects, WIDTH, HEIGHT)["method"].to_list() == ["template", "fallback", "fallback"]


def test_conjunction_when_one_relation_is_not_enough():
    # four identical mugs in a 2x2 grid, no selector singles any one out, but a lamp left/right and a box in
    # front/behind each split them in halves: two clauses are needed
    specs = [dict(label="lamp", x=0.0, y=4.0), dict(label="box", x=-3.0, y=4.0, z=-0.2)]
    specs += [dict(label="mug", x=x, y=y, z=-0.5) for x in (-0.5, 0.5) for y in (3.5, 4.5)]
    objects = scene(*specs)
    got = expressions(objects, max_relations=2)
    mugs = [e for e in got[2:] if " and " in e]
    assert mugs, got
    for i, e in enumerate(got):
        if not e.startswith("the mug in the box"):
            assert Resolver(objects).resolve(e) == {i}, e
    assert sum(" and " in e for e in expressions(objects, max_relations=1)) == 0


def test_max_relations_zero_uses_no_anchor(corpus):
    for objects, _ in corpus[:20]:
        for e in expressions(objects, max_relations=0):
            assert " of the " not in e and " on the " not in e and " behind the " not in e


# --------------------------------------------------------------------------------------------- fallback


def test_identical_objects_fall_back_to_class_and_box():
    objects = scene(dict(label="mug", x=0.0, y=3.0, z=-0.6), dict(label="mug", x=0.05, y=3.02, z=-0.6))
    referrals = refer_objects(objects, WIDTH, HEIGHT)
    assert referrals["method"].to_list() == ["fallback", "fallback"]
    assert referrals["verified"].to_list() == [False, False]
    for row, obj in zip(referrals.iter_rows(named=True), objects.iter_rows(named=True)):
        box = np.array([obj["box_x0"], obj["box_y0"], obj["box_x1"], obj["box_y1"]])
        assert row["expression"] == fallback_expression("mug", box, WIDTH, HEIGHT)


def test_unknown_geometry_never_verifies_a_relation():
    objects = scene(dict(label="chair", x=-1.0, y=3.0), dict(label="chair", x=1.0, y=3.0))
    objects = objects.with_columns(pl.when(pl.col("object_id") == 0).then(None).otherwise(pl.col("center_x"))
                                   .alias("center_x"))
    assert refer_objects(objects, WIDTH, HEIGHT)["method"].to_list() == ["fallback", "fallback"]


# --------------------------------------------------------------------------------------------- vocabulary


def test_multi_word_labels_and_colors():
    objects = scene(dict(label="coffee table", x=0, y=3, dims=(1.0, 0.6, 0.45)), dict(label="table", x=-0.05, y=4),
                    dict(label="table", x=0.05, y=4.05, color="light blue"))
    got = expressions(objects)
    assert got == ["the coffee table", "the gray table", "the light blue table"]
    for i, e in enumerate(got):
        assert Resolver(objects).resolve(e) == {i}


def test_expression_that_would_parse_two_ways_is_not_used():
    # "the light blue table": color "light blue" + table, or color "light" + "blue table"
    objects = scene(dict(label="table", x=-2, y=4, color="light blue"), dict(label="table", x=2, y=4),
                    dict(label="blue table", x=0, y=6, color="light"), dict(label="blue table", x=0.05, y=3))
    got = expressions(objects)
    assert got[0] != "the light blue table" and got[2] != "the light blue table"
    assert got[0] == "the leftmost table"


# --------------------------------------------------------------------------------------------- backend


def test_backend_writes_the_referrals_contract():
    objects = scene(dict(label="sofa", x=0, y=4), dict(label="chair", x=-1, y=3))
    image = ImageRef("drop_a", "img_7", "file:///x/img_7.png", WIDTH, HEIGHT)
    referrals = TemplateReferrer().refer(image, objects)
    assert referrals.schema == pl.Schema(schema.REFERRALS)
    assert referrals["image_id"].to_list() == ["img_7", "img_7"] and referrals["drop_id"][0] == "drop_a"
    assert referrals["backend"].to_list() == ["template", "template"]


def test_backend_without_image_refers_each_image_on_its_own():
    a = scene(dict(label="chair", x=0, y=3))
    b = scene(dict(label="chair", x=0, y=3, color="red"), dict(label="chair", x=0.05, y=3.05)).with_columns(
        image_id=pl.lit("other"))
    referrals = TemplateReferrer().refer(None, pl.concat([a, b]))
    assert referrals["expression"].to_list() == ["the chair", "the red chair", "the gray chair"]


def test_settings_change_the_backend_identity():
    assert identity(TemplateReferrer()) != identity(TemplateReferrer(margin_m=0.3))
    assert identity(TemplateReferrer()).startswith("template@")
    with pytest.raises(ValueError):
        refer_objects(scene(dict(label="chair", x=0, y=3)), WIDTH, HEIGHT, max_relations=3)


def test_empty_image_gives_empty_referrals():
    referrals = TemplateReferrer().refer(None, pl.DataFrame())
    assert referrals.is_empty() and referrals.schema == pl.Schema(schema.REFERRALS)


def test_underscored_labels_read_with_spaces():
    objects = scene(dict(label="trash_can", x=0, y=3), dict(label="chair", x=-0.03, y=3.5),
                    dict(label="chair", x=0.03, y=3.52))
    got = expressions(objects)
    assert got[0] == "the trash can"
    assert got[1].startswith("the chair in the box [")
    assert Resolver(objects).resolve(got[0]) == {0}


def test_registry_builds_the_template_backend_with_settings():
    from hispatial_assets.perception import registry

    backend = registry.build_backend("referral", {"backend": "template", "margin_m": 0.2})
    assert isinstance(backend, TemplateReferrer) and backend.margin_m == 0.2
