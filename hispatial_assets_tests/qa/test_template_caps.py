"""The generators format question templates without `cap1`: every template must already start with
a capital letter or with a capitalised placeholder ({view_cap} / {frame_cap})."""

from hispatial_assets.qa import level1, level2, level3

FAMILIES = {
    level1: ["LOC_FREE", "LOC_CHOICE", "LOC_BOOL", "ORI_FREE", "ORI_CHOICE", "ORI_BOOL", "SIZE_FREE", "SIZE_BOOL"],
    level2: ["CLOCK_FREE", "QUAD_CHOICE", "AXIS_FREE", "AXIS_BOOL", "VEC_FREE", "VEC_BOOL", "DIST_FREE", "DIST_BOOL",
             "COMP_FREE", "COMP_BOOL", "CMP_FREE", "CMP_CHOICE", "CMP_BOOL", "RANK_ORDER", "RANK_CHOICE",
             "RANK_SUPER", "RANK_BOOL"],
    level3: ["PERSP_FREE", "PERSP_CHOICE", "PERSP_BOOL", "COUNT_WITHIN", "COUNT_REL", "COUNT_BOOL_WITHIN",
             "COUNT_BOOL_REL", "FIT_X", "FIT_W", "ROOM", "MOVEDIST_BOOL", "CLOSER", "MOVEDIST", "NEAREST_CHOICE",
             "NEAREST"],
}


def _strings(x):
    if isinstance(x, str):
        yield x
    elif isinstance(x, dict):
        for v in x.values():
            yield from _strings(v)
    else:
        for v in x:
            yield from _strings(v)


def test_templates_start_capitalised():
    for mod, names in FAMILIES.items():
        for name in names:
            for t in _strings(getattr(mod, name)):
                assert t[:1].isupper() or t.startswith(("{view_cap}", "{frame_cap}")), (mod.__name__, name, t)


def test_balance_letters_come_in_shuffled_blocks_of_every_letter():
    """Each run of k letters drawn for k options uses every position once, in varying orders."""
    import random

    from hispatial_assets.qa.rows import Balance

    orders = set()
    for seed in range(50):
        bal = Balance(random.Random(seed))
        for k in (4, 2, 3):
            for _block in range(3):
                block = [bal.letter(k) for _ in range(k)]
                assert sorted(block) == list(range(k))
                orders.add(tuple(block))
    assert len(orders) == 24 + 2 + 6  # every permutation of 4, 2 and 3 letters occurs
