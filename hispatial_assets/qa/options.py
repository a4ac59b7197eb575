"""Distractors and claims: plausible wrong options that never overlap the truth, and yes/no
thresholds on either side of a value, all outside the comparison margin."""

from __future__ import annotations

import math
import random
from typing import NamedTuple

from hispatial_assets.qa.config import QAConfig
from hispatial_assets.qa.rand import shuffle
from hispatial_assets.qa.units import length_text, shown, unit_word


def length_options(rnd: random.Random, cfg: QAConfig, meters: float, unit: str, pos: int) -> list[str] | None:
    """Four length texts with the truth at ``pos``; every pair of shown values differs by more than the margin."""
    n_below = int(rnd.random() * 4)
    distractors: list[float] = []
    lo = hi = meters
    for k in range(3):
        step = max(meters * (0.18 + 0.17 * rnd.random()), cfg.margin_abs_m * 1.3)
        if k < n_below and lo - step > 0.02:
            lo -= step
            distractors.append(lo)
        else:
            hi += step
            distractors.append(hi)
    shown_as = [shown(v, unit) for v in distractors]  # (number text, meters of that number)
    truth_text, truth_m = shown(meters, unit)
    # every pair passes the margin iff every neighbouring pair in sorted order does (for x <= y <= z,
    # z - x >= z - y, and both pairs are held to the threshold z sets)
    values = sorted([m for _, m in shown_as] + [truth_m])
    if not all(cfg.ok(y - x, y) for x, y in zip(values, values[1:])):
        return None
    shuffle(rnd, shown_as)
    word = unit_word(unit)
    options = [f"{number} {word}" for number, _ in shown_as]
    options.insert(pos, f"{truth_text} {word}")
    return options


def separated(points, truth: tuple, sep: float, k: int) -> list[tuple] | None:
    """The first k of ``points`` (any iterable, consumed lazily) that lie at least ``sep`` from the
    truth and from each other; None when the points run out first."""
    out: list[tuple] = []
    for p in points:
        if not math.dist(p, truth) >= sep:
            continue
        for q in out:
            if not math.dist(p, q) >= sep:
                break
        else:
            out.append(p)
            if len(out) == k:
                return out
    return None


def xyz_distractors(rnd: random.Random, truth: tuple, candidates: list[tuple], sep: float, k: int = 3) -> list[tuple] | None:
    """k points from ``candidates`` (in random order) at least ``sep`` from the truth and each other."""
    cands = list(candidates)
    shuffle(rnd, cands)
    return separated(cands, truth, sep, k)


def xyz_variants(t: tuple) -> list[tuple]:
    """Plausible wrong vectors/positions: sign flips, swaps, rescalings, shifts."""
    x, y, z = t
    return [(-x, y, z), (x, -y, z), (x, y, -z), (-x, -y, z), (y, x, z), (x * 1.5, y * 1.5, z * 1.5),
            (x * 0.6, y * 0.6, z * 0.6), (x + 0.8, y, z), (x - 0.8, y, z), (x, y + 1.0, z), (x, y - 1.0, z),
            (x, y, z + 0.6), (x, y, z - 0.6)]


class Claim(NamedTuple):
    """"Is the value more (``more``) or less than T?", T as the question shows it and in meters."""

    more: bool
    text: str
    meters: float


def threshold_claim(rnd: random.Random, cfg: QAConfig, value: float, want: bool, unit: str,
                    floor: float = 0.02) -> Claim | None:
    """A threshold T for "is the value more (or less) than T?" whose answer is ``want``; T lies outside
    the margin around the value."""
    more = rnd.random() < 0.5
    base = max(cfg.margin_rel * value, cfg.margin_abs_m)
    for attempt in range(4):
        gap = base * (1.4 + rnd.random() + attempt)
        below = want == more  # "more than T" is true when T is below the value
        if below and value - gap <= floor:
            more, below = not more, False
        _, t_m = shown(value - gap if below else value + gap, unit)
        if t_m > 0 and cfg.ok(value - t_m, max(value, t_m)) and ((value > t_m) == below):
            return Claim(more, length_text(t_m, unit), t_m)
    return None
