"""rand.shuffle and rand.sample draw what random.Random draws."""

import random

import pytest

from hispatial_assets.qa import rand


def test_shuffle_draws_what_the_stdlib_draws():
    for seed in range(200):
        ours, stdlib = random.Random(seed), random.Random(seed)
        for n in (0, 1, 2, 3, 4, 5, 9, 13, 40):
            x, y = list(range(n)), list(range(n))
            rand.shuffle(ours, x)
            stdlib.shuffle(y)
            assert x == y
        assert ours.random() == stdlib.random()


def test_sample_draws_what_the_stdlib_draws():
    for seed in range(200):
        ours, stdlib = random.Random(seed), random.Random(seed)
        for n in (1, 2, 3, 4, 5, 9, 21, 22, 25, 256):
            for k in range(min(n, 7) + 1):
                population = list(range(100, 100 + n))
                assert rand.sample(ours, population, k) == stdlib.sample(population, k)
                assert rand.sample(ours, range(n), k) == stdlib.sample(range(n), k)
        assert ours.random() == stdlib.random()


@pytest.mark.parametrize("k", [-1, 3])
def test_sample_refuses_what_the_stdlib_refuses(k):
    with pytest.raises(ValueError):
        rand.sample(random.Random(0), [1, 2], k)
