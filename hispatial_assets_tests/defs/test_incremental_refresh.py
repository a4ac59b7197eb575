"""The design card's promise: a detector change refreshes only what is downstream of it, and only
where the outputs really changed (data versions), with lineage in DuckDB to prove it."""

import numpy as np
import pytest

from hispatial_assets.cli import orchestrate
from hispatial_assets.catalog.duckdb import query
from hispatial_assets.perception.synthetic import SyntheticDetector
from hispatial_assets.scenes import write_drop

DROPS = ["d0", "d1", "d2"]
UPSTREAM_OF_DETECTOR = ["drop_manifest", "gravity", "point_maps", "qa_l0"]
DOWNSTREAM_OF_DETECTOR = ["objects", "qa_l1", "qa_l2", "qa_l3", "referrals"]


@pytest.fixture
def three_drops(data_root, instance):
    for i, d in enumerate(DROPS):
        write_drop(data_root.root, d, n_images=2, seed=100 + i, width=256, height=192, outdoor_share=0.0)
    orchestrate.register_drops(instance, DROPS)
    defs = orchestrate.load_definitions(data_root)
    runs = orchestrate.refresh(defs, instance, data_root, log=lambda *_: None)
    assert [ok for _, _, ok in runs] == [True] * 3 and sorted(p for p, _, _ in runs) == DROPS
    return data_root


def lineage_counts(root) -> dict[tuple[str, str], int]:
    df = query(root, "select asset, partition, count(*) as n from lineage group by all")
    return {(a, p): n for a, p, n in df.iter_rows()}


def new_records(before, after) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for (asset, partition), n in after.items():
        if n > before.get((asset, partition), 0):
            out.setdefault(asset, []).append(partition)
    return {a: sorted(p) for a, p in sorted(out.items())}


def lower_scores(monkeypatch, version: str, drops_changed: set[str]):
    """A 'new detector': same masks, lower scores — on the chosen drops only."""
    detect = SyntheticDetector.detect

    def detect_v2(self, image):
        det = detect(self, image)
        if image.drop_id in drops_changed:
            det.scores = np.full(len(det), 0.75, np.float32)
        return det

    monkeypatch.setattr(SyntheticDetector, "version", version)
    monkeypatch.setattr(SyntheticDetector, "detect", detect_v2)


def test_a_detector_change_refreshes_objects_and_below_on_every_drop_and_nothing_above(three_drops, instance, monkeypatch):
    root = three_drops
    before = lineage_counts(root)
    lower_scores(monkeypatch, "2", set(DROPS))
    defs = orchestrate.load_definitions(root)

    stale = orchestrate.stale_partitions(defs, instance, root)
    assert set(stale["asset"]) == set(DOWNSTREAM_OF_DETECTOR)
    assert all(r.startswith("code version changed") for r in stale.filter(stale["asset"] == "objects")["reason"])

    orchestrate.refresh(defs, instance, root, log=lambda *_: None)
    added = new_records(before, lineage_counts(root))
    assert added == {**{a: DROPS for a in DOWNSTREAM_OF_DETECTOR}, "qa_stats": [""]}  # stats once, at the end
    assert not set(added) & set(UPSTREAM_OF_DETECTOR)
    assert query(root, "select min(score) as s from objects")["s"][0] == pytest.approx(0.75)

    settled = lineage_counts(root)
    assert orchestrate.refresh(defs, instance, root, log=lambda *_: None) == []  # nothing changed: no run
    assert lineage_counts(root) == settled
    assert orchestrate.stale_partitions(defs, instance, root).is_empty()


def test_a_detector_change_that_leaves_a_drops_objects_identical_refreshes_nothing_below_that_drop(
        three_drops, instance, monkeypatch):
    root = three_drops
    before = lineage_counts(root)
    lower_scores(monkeypatch, "3", {"d0", "d1"})  # d2's objects come out byte-identical
    defs = orchestrate.load_definitions(root)
    orchestrate.refresh(defs, instance, root, log=lambda *_: None)
    added = new_records(before, lineage_counts(root))
    assert added["objects"] == DROPS  # its code version changed everywhere
    for asset in ["referrals", "qa_l1", "qa_l2", "qa_l3"]:
        assert added[asset] == ["d0", "d1"], asset
    versions = query(root, """select partition, count(distinct data_version) as n from lineage
                              where asset = 'objects' group by all order by partition""")
    assert dict(versions.iter_rows()) == {"d0": 2, "d1": 2, "d2": 1}
