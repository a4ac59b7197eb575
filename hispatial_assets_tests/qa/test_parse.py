import json

import polars as pl
import pytest

from hispatial_assets.qa.parse import (parse_answer, parse_bool, parse_choice, parse_clock, parse_count,
                                       parse_direction, parse_facing, parse_length, parse_xyz)
from hispatial_assets.qa.units import ROUNDING_M


@pytest.mark.parametrize("text, meters", [
    ("1.2 m", 1.2), ("120 cm", 1.2), ("4 feet", 1.2192), ("3 ft 4 in", 1.016), ("5'6\"", 1.6764),
    ("47 inches", 1.1938), ("about 2.5 meters", 2.5), ("1,200 mm", 1.2), ("0.8", 0.8),
])
def test_lengths_parse_to_meters(text, meters):
    assert parse_length(text) == pytest.approx(meters, abs=1e-6)


def test_units_mix_parses_back_to_meters(qa_mixed):
    rows = qa_mixed.filter((pl.col("format") == "free") & pl.col("answer_value").str.contains('"meters"'))
    units = set()
    for answer, av in rows.select("answer", "answer_value").iter_rows():
        d = json.loads(av)
        units.add(d["unit"])
        assert parse_length(answer) == pytest.approx(d["meters"], abs=ROUNDING_M[d["unit"]] + 1e-6), answer
        assert parse_answer(answer, d) == pytest.approx(d["meters"], abs=ROUNDING_M[d["unit"]] + 1e-6)
    assert units == {"m", "cm", "in", "ft"}


def test_other_answer_kinds_parse():
    assert parse_bool("Yes.") is True and parse_bool("no, it is not") is False and parse_bool("maybe") is None
    assert parse_choice("B. 1.20 m") == "B" and parse_choice("The answer is C") == "C" and parse_choice("(D)") == "D"
    assert parse_clock("At 3 o'clock.") == 3 and parse_clock("twelve o'clock") == 12
    assert parse_count("There are 2 chairs") == 2 and parse_count("three") == 3
    assert parse_xyz("(1.00, -2.00, 3.50) m") == [1.0, -2.0, 3.5]
    assert parse_direction("To the left.") == "left" and parse_direction("Behind it.") == "behind"
    assert parse_direction("in front and to the right") == "in front and to the right"
    assert parse_facing("It is facing away from the camera and to the left.") == "away from the camera and to the left"


def test_generated_free_answers_parse_to_their_values(qa):
    free = qa.filter(pl.col("format") == "free")
    for answer, av in free.select("answer", "answer_value").iter_rows():
        d = json.loads(av)
        got = parse_answer(answer, d)
        if "xyz" in d:
            assert got == pytest.approx(d["xyz"], abs=0.006)
        elif "count" in d:
            assert got == d["count"]
        elif "clock" in d:
            assert got == d["clock"]
