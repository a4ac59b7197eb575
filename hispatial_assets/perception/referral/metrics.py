"""Summary figures of a referrals table, attached as asset metadata (the paper's weak spot is the pass rate)."""

from __future__ import annotations

import polars as pl


def referral_metrics(referrals: pl.DataFrame) -> dict:
    """Verification pass rate, fallback share, expression length (words) and counts per method.

    Plain JSON-able values (ints, floats, dicts), so Dagster can store them as metadata. When the frame
    carries ``strategy`` (as `template.refer_objects` returns it), counts per strategy are added.
    """
    n = len(referrals)
    if n == 0:
        return {"referrals": 0, "verified_rate": None, "fallback_share": None, "methods": {},
                "words": {"mean": None, "p50": None, "p90": None}}
    words = referrals["expression"].fill_null("").str.split(" ").list.len().cast(pl.Float64)
    out = {
        "referrals": n,
        "verified_rate": float(referrals["verified"].fill_null(False).mean()),
        "fallback_share": float((referrals["method"] == "fallback").mean()),
        "methods": _counts(referrals["method"]),
        "words": {"mean": round(float(words.mean()), 3), "p50": float(words.quantile(0.5, "nearest")),
                  "p90": float(words.quantile(0.9, "nearest"))},
    }
    if "strategy" in referrals.columns:
        out["strategies"] = _counts(referrals["strategy"])
    return out


def _counts(column: pl.Series) -> dict[str, int]:
    counts = column.fill_null("null").value_counts(sort=True)
    return {str(k): int(v) for k, v in counts.iter_rows()}
