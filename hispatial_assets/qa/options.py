"""Distractors and claims: plausible wrong options that never overlap the truth, and yes/no
thresholds on either side of a value, all outside the comparison margin."""

from __future__ import annotations

import math
import random

from hispatial_assets.qa.config import QAConfig
from hispatial_assets.qa.units import length_text, shown


def length_options(rnd: random.Random, cfg: QAConfig, meters: float, unit: str, pos: int) -> list[str] | None:
    """Four length texts with the truth at ``pos``; every pair differs by more than the margin."""
    n_below = int(rnd.random() * 4)
    vals: list[float] = []
    lo = hi = meters
    for k in range(3):
        below = k < n_below
        step = max(cfg.margin_abs_m * 1.3, meters * (0.18 + 0.17 * rnd.random()))
        if below and lo - step > 0.02:
            lo -= step
            vals.append(lo)
        else:
            hi += step
            vals.append(hi)
    shown_m = [shown(v, unit)[1] for v in vals]
    t = shown(meters, unit)[1]
    allv = shown_m + [t]
    for a in range(4):
        for b in range(a + 1, 4):
            if not cfg.ok(allv[a] - allv[b], max(allv[a], allv[b])):
                return None
    rnd.shuffle(vals)
    texts = [length_text(v, unit) for v in vals]
    texts.insert(pos, length_text(meters, unit))
    return texts


def xyz_distractors(rnd: random.Random, truth: tuple, candidates: list[tuple], sep: float, k: int = 3) -> list[tuple] | None:
    """k points from ``candidates`` (in random order) at least ``sep`` from the truth and each other."""
    cands = list(candidates)
    rnd.shuffle(cands)
    out: list[tuple] = []
    for p in cands:
        if math.dist(p, truth) >= sep and all(math.dist(p, q) >= sep for q in out):
            out.append(p)
            if len(out) == k:
                return out
    return None


def xyz_variants(t: tuple) -> list[tuple]:
    """Plausible wrong vectors/positions: sign flips, swaps, rescalings, shifts."""
    x, y, z = t
    return [(-x, y, z), (x, -y, z), (x, y, -z), (-x, -y, z), (y, x, z), (x * 1.5, y * 1.5, z * 1.5),
            (x * 0.6, y * 0.6, z * 0.6), (x + 0.8, y, z), (x - 0.8, y, z), (x, y + 1.0, z), (x, y - 1.0, z),
            (x, y, z + 0.6), (x, y, z - 0.6)]


def threshold_claim(rnd: random.Random, cfg: QAConfig, value: float, want: bool, unit: str,
                    floor: float = 0.02) -> tuple[bool, str, float] | None:
    """A threshold T for "is the value more (or less) than T?" whose answer is ``want``.

    Returns (ask_more, T text, T in meters as shown). T lies outside the margin around the value.
    """
    more = rnd.random() < 0.5
    for attempt in range(4):
        gap = max(cfg.margin_abs_m, cfg.margin_rel * value) * (1.4 + rnd.random() + attempt)
        below = want == more  # "more than T" is true when T is below the value
        if below and value - gap <= floor:
            more, below = not more, False
        T = value - gap if below else value + gap
        text, t_m = shown(T, unit)
        if t_m > 0 and cfg.ok(value - t_m, max(value, t_m)) and ((value > t_m) == below):
            return more, length_text(t_m, unit), t_m
    return None
