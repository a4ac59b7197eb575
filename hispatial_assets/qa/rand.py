"""`random.Random.shuffle` and `.sample`, drawing exactly the numbers the stdlib draws.

Why not the stdlib calls: synthesis draws a few times per question, many of them in rejection loops
(`compare` and `rank` try up to 12 candidate sets per question), and each stdlib draw goes through a
Python-level method call (``Random._randbelow``); with the stdlib calls QA synthesis ran ~7% more
instructions per row, and L1-L3 were 3-5% slower on benchmarks/bench_qa.py. These are CPython's own
algorithms (``Random.shuffle``, the small-population path of ``Random.sample``) with that method
written out as its loop: draw ``n.bit_length()`` random bits until the number is below ``n``.
hispatial_assets_tests/qa/test_rand.py checks them against the stdlib, draw for draw.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


def shuffle(rnd: random.Random, x: list) -> None:
    """``rnd.shuffle(x)``."""
    getrandbits = rnd.getrandbits
    for i in reversed(range(1, len(x))):
        n = i + 1
        bits = n.bit_length()
        j = getrandbits(bits)
        while j >= n:
            j = getrandbits(bits)
        x[i], x[j] = x[j], x[i]


def sample(rnd: random.Random, population: Sequence, k: int) -> list:
    """``rnd.sample(population, k)``."""
    n = len(population)
    if n > 21 or not 0 <= k <= min(n, 5):  # the stdlib's other algorithm, or its error
        return rnd.sample(population, k)
    getrandbits = rnd.getrandbits
    pool = list(population)
    picked = []
    for i in range(k):
        m = n - i
        bits = m.bit_length()
        j = getrandbits(bits)
        while j >= m:
            j = getrandbits(bits)
        picked.append(pool[j])
        pool[j] = pool[m - 1]
    return picked
