"""`random.Random.sample` / `.shuffle` without their per-call overhead (ABC isinstance checks,
method lookups), drawing exactly the same numbers from the generator, so results are unchanged:
CPython 3.11's algorithms (`_randbelow_with_getrandbits`), inlined. Checked against the stdlib in
hispatial_assets_tests/qa/test_fast_paths.py.
"""

from __future__ import annotations

import random
from math import ceil, log


def sample(rnd: random.Random, population, k: int) -> list:
    """``rnd.sample(population, k)`` for a sequence ``population``."""
    n = len(population)
    if not 0 <= k <= n:
        raise ValueError("Sample larger than population or is negative")
    getrandbits = rnd.getrandbits
    if k == 2 and 2 <= n <= 21:  # the common case, without the pool copy
        b = n.bit_length()
        j = getrandbits(b)
        while j >= n:
            j = getrandbits(b)
        m = n - 1
        b = m.bit_length()
        j2 = getrandbits(b)
        while j2 >= m:
            j2 = getrandbits(b)
        return [population[j], population[m] if j2 == j else population[j2]]
    setsize = 21
    if k > 5:
        setsize += 4 ** ceil(log(k * 3, 4))
    result = []
    if n <= setsize:
        pool = list(population)
        for i in range(k):
            m = n - i
            b = m.bit_length()
            j = getrandbits(b)
            while j >= m:
                j = getrandbits(b)
            result.append(pool[j])
            pool[j] = pool[m - 1]
    else:
        selected: set[int] = set()
        b = n.bit_length()
        for _ in range(k):
            j = getrandbits(b)
            while j >= n or j in selected:
                j = getrandbits(b)
                while j >= n:
                    j = getrandbits(b)
            selected.add(j)
            result.append(population[j])
    return result


def shuffle(rnd: random.Random, x: list) -> None:
    """``rnd.shuffle(x)``."""
    getrandbits = rnd.getrandbits
    for i in range(len(x) - 1, 0, -1):
        m = i + 1
        b = m.bit_length()
        j = getrandbits(b)
        while j >= m:
            j = getrandbits(b)
        x[i], x[j] = x[j], x[i]


def shuffle3(rnd: random.Random, x: list) -> None:
    """``rnd.shuffle(x)`` for a list of three."""
    getrandbits = rnd.getrandbits
    j = getrandbits(2)
    while j >= 3:
        j = getrandbits(2)
    x[2], x[j] = x[j], x[2]
    j = getrandbits(2)  # (2).bit_length() == 2
    while j >= 2:
        j = getrandbits(2)
    x[1], x[j] = x[j], x[1]
