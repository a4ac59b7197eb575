"""Distractors and claims: plausible wrong options that never overlap the truth, and yes/no
thresholds on either side of a value, all outside the comparison margin."""

from __future__ import annotations

import math
import random

from hispatial_assets.qa.config import QAConfig
from hispatial_assets.qa.rand import shuffle as _shuffle
from hispatial_assets.qa.units import UNIT_WORDS, length_text, shown


def length_options(rnd: random.Random, cfg: QAConfig, meters: float, unit: str, pos: int) -> list[str] | None:
    """Four length texts with the truth at ``pos``; every pair differs by more than the margin."""
    random_ = rnd.random
    n_below = int(random_() * 4)
    vals: list[float] = []
    lo = hi = meters
    floor_step = cfg.margin_abs_m * 1.3
    for k in range(3):
        step = max(floor_step, meters * (0.18 + 0.17 * random_()))
        if k < n_below and lo - step > 0.02:
            lo -= step
            vals.append(lo)
        else:
            hi += step
            vals.append(hi)
    shown_v = [shown(v, unit) for v in vals]
    t_text, t = shown(meters, unit)
    allv = [m for _, m in shown_v] + [t]
    m_abs, m_rel = cfg.margin_abs_m, cfg.margin_rel
    for a in range(4):
        x = allv[a]
        for b in range(a + 1, 4):
            y = allv[b]
            if not abs(x - y) >= max(m_abs, m_rel * abs(max(x, y))):
                return None
    # shuffle the distractors with their shown texts (the same permutation as shuffling vals)
    order = [0, 1, 2]
    _shuffle(rnd, order)
    word = unit if unit in ("m", "cm") else UNIT_WORDS[unit]
    texts = [f"{shown_v[i][0]} {word}" for i in order]
    texts.insert(pos, f"{t_text} {word}")
    return texts


def xyz_distractors(rnd: random.Random, truth: tuple, candidates: list[tuple], sep: float, k: int = 3) -> list[tuple] | None:
    """k points from ``candidates`` (in random order) at least ``sep`` from the truth and each other."""
    cands = list(candidates)
    _shuffle(rnd, cands)
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
