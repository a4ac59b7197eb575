"""Distractors and claims: plausible wrong options that never overlap the truth, and yes/no
thresholds on either side of a value, all outside the comparison margin."""

from __future__ import annotations

import math
import random

from hispatial_assets.qa.config import QAConfig
from hispatial_assets.qa.rand import shuffle
from hispatial_assets.qa.units import UNIT_WORDS, length_text, shown


def length_options(rnd: random.Random, cfg: QAConfig, meters: float, unit: str, pos: int) -> list[str] | None:
    """Four length texts with the truth at ``pos``; every pair differs by more than the margin."""
    random_ = rnd.random
    n_below = int(random_() * 4)
    vals: list[float] = []
    lo = hi = meters
    floor_step = cfg.margin_abs_m * 1.3
    for k in range(3):
        step = meters * (0.18 + 0.17 * random_())
        if step < floor_step:
            step = floor_step
        if k < n_below and lo - step > 0.02:
            lo -= step
            vals.append(lo)
        else:
            hi += step
            vals.append(hi)
    if unit == "m":  # `shown` inlined for the common unit
        t0, t1, t2, tt = f"{vals[0]:.2f}", f"{vals[1]:.2f}", f"{vals[2]:.2f}", f"{meters:.2f}"
        allv = (float(t0), float(t1), float(t2), float(tt))
        shown_t = (t0, t1, t2)
    else:
        shown_v = [shown(v, unit) for v in vals]
        tt, t = shown(meters, unit)
        allv = (shown_v[0][1], shown_v[1][1], shown_v[2][1], t)
        shown_t = (shown_v[0][0], shown_v[1][0], shown_v[2][0])
    m_abs, m_rel = cfg.margin_abs_m, cfg.margin_rel
    # every pair passes the margin iff every neighbouring pair in sorted order does (for x <= y <= z,
    # z - x >= z - y and both pairs are held to the same threshold, set by z)
    sv = sorted(allv)
    for a in range(3):
        x, y = sv[a], sv[a + 1]
        lim = m_rel * abs(y)
        if not y - x >= (m_abs if m_abs >= lim else lim):
            return None
    # shuffle the distractors with their shown texts (the same permutation as shuffling vals)
    order = [0, 1, 2]
    shuffle(rnd, order)
    word = unit if unit in ("m", "cm") else UNIT_WORDS[unit]
    texts = [f"{shown_t[i]} {word}" for i in order]
    texts.insert(pos, f"{tt} {word}")
    return texts


def separated(points, truth: tuple, sep: float, k: int) -> list[tuple] | None:
    """The first k of ``points`` (any iterable, consumed lazily) that lie at least ``sep`` from the
    truth and from each other; None when the points run out first."""
    out: list[tuple] = []
    dist = math.dist
    for p in points:
        if dist(p, truth) >= sep:
            for q in out:
                if not dist(p, q) >= sep:
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


def threshold_claim(rnd: random.Random, cfg: QAConfig, value: float, want: bool, unit: str,
                    floor: float = 0.02) -> tuple[bool, str, float] | None:
    """A threshold T for "is the value more (or less) than T?" whose answer is ``want``.

    Returns (ask_more, T text, T in meters as shown). T lies outside the margin around the value.
    """
    random_ = rnd.random
    more = random_() < 0.5
    m_abs, m_rel = cfg.margin_abs_m, cfg.margin_rel
    base = m_rel * value
    if base < m_abs:
        base = m_abs
    for attempt in range(4):
        gap = base * (1.4 + random_() + attempt)
        below = want == more  # "more than T" is true when T is below the value
        if below and value - gap <= floor:
            more, below = not more, False
        T = value - gap if below else value + gap
        if unit == "m":
            text = f"{T:.2f}"
            t_m = float(text)
        else:
            text, t_m = shown(T, unit)
        if t_m > 0 and cfg.ok(value - t_m, max(value, t_m)) and ((value > t_m) == below):
            if unit == "m":
                return more, f"{t_m:.2f} m", t_m
            return more, length_text(t_m, unit), t_m
    return None
