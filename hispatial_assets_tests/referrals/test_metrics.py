"""referral_metrics summarizes a referrals table for asset metadata."""

from __future__ import annotations

import json

import polars as pl

from hispatial_assets import schema
from hispatial_assets.perception.referral.metrics import referral_metrics


def referrals(expressions: list[str], methods: list[str]) -> pl.DataFrame:
    n = len(expressions)
    return schema.conform(pl.DataFrame({
        "drop_id": ["d"] * n, "image_id": ["i"] * n, "object_id": list(range(n)), "expression": expressions,
        "method": methods, "verified": [m == "template" for m in methods], "backend": ["template"] * n,
    }), "referrals")


def test_rates_lengths_and_counts():
    table = referrals(["the sofa", "the red chair", "the chair behind the lamp", "the mug in the box [1, 2, 3, 4]"],
                      ["template", "template", "template", "fallback"])
    m = referral_metrics(table)
    assert m["referrals"] == 4
    assert m["verified_rate"] == 0.75 and m["fallback_share"] == 0.25
    assert m["methods"] == {"template": 3, "fallback": 1}
    assert m["words"]["mean"] == (2 + 3 + 5 + 9) / 4
    assert m["words"]["p50"] in (3.0, 5.0) and m["words"]["p90"] == 9.0
    assert "strategies" not in m
    json.dumps(m)  # storable as metadata


def test_strategy_counts_when_present():
    table = referrals(["the sofa", "the red chair"], ["template", "template"]).with_columns(
        strategy=pl.Series(["class", "attribute"]))
    assert referral_metrics(table)["strategies"] == {"class": 1, "attribute": 1}


def test_empty_table():
    m = referral_metrics(schema.empty("referrals"))
    assert m["referrals"] == 0 and m["fallback_share"] is None
    json.dumps(m)
