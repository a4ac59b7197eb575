import json

import polars as pl
import pytest

from hispatial_assets.qa.parse import (parse_answer, parse_bool, parse_candidate, parse_choice, parse_clock, parse_count,
                                       parse_direction, parse_facing, parse_length, parse_order, parse_point,
                                       parse_xyz)
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


@pytest.mark.parametrize("text, meters", [
    ("1.5 meters", 1.5), ("about 3 ft", 0.9144), ("2 feet 6 inches", 0.762), ("half a meter", 0.5),
    ("roughly half a metre apart", 0.5), ("a foot", 0.3048), ("one and a half meters", 1.5), ("two yards", 1.8288),
    ("3 yd", 2.7432), ("15 mm", 0.015), ("It is 48.47 centimeters.", 0.4847), ("6 ft. 2 in.", 1.8796),
    ("1.5m", 1.5), ("a 2-meter gap", 2.0), ("between 1 and 2 meters", 1.5), ("1-2 m", 1.5),
    ("The height of Region [0] is 6.91 feet.", 2.106168), ("5 feet and 3 inches", 1.6002),
])
def test_spelled_and_mixed_lengths(text, meters):
    assert parse_length(text) == pytest.approx(meters, abs=1e-6)


@pytest.mark.parametrize("text", [None, "", "I cannot tell.", "far away"])
def test_unreadable_lengths_are_none(text):
    assert parse_length(text) is None


def test_bare_numbers_need_a_default_unit():
    assert parse_length("2.5") == pytest.approx(2.5) and parse_length("2.5", default_unit=None) is None
    assert parse_length("2.5", default_unit="ft") == pytest.approx(0.762)


@pytest.mark.parametrize("text, options, letter", [
    ("B", None, "B"), ("(C)", None, "C"), ("D.", None, "D"), ("B) 1.2 m", None, "B"), ("The answer is c", None, "C"),
    ("option a", None, "A"), ("Answer: (B)", None, "B"), ("B 1.20 m", None, "B"), ("I think it is B.", None, "B"),
    ("B is correct", None, "B"),
    ("1.20 m", ["0.96 m", "1.61 m", "2.02 m", "1.20 m"], "D"),  # the option text alone
    ("It is 11.20 m away", ["1.20 m", "11.20 m"], "B"),  # whole option, not a substring of another
    ("facing away from the camera and to the left", ["away from the camera", "away from the camera and to the left"], "B"),
    ("A chair is closer.", None, None),  # the article, not option A
    ("A. the chair", None, "A"), ("A", None, "A"),
    ("either 1.20 m or 2.02 m", ["0.96 m", "1.61 m", "2.02 m", "1.20 m"], None),  # two options named
    ("none of them", ["left", "right"], None), ("", None, None), (None, None, None),
    ("E", None, None),  # outside the four options
])
def test_choice_letters(text, options, letter):
    assert parse_choice(text, 4 if not options else len(options), options) == letter


@pytest.mark.parametrize("text, value", [
    ("Yes.", True), ("yes, it is", True), ("No", False), ("no, it is not", False), ("True", True),
    ("That is incorrect", False), ("maybe", None), ("", None), (None, None),
])
def test_yes_no(text, value):
    assert parse_bool(text) is value


@pytest.mark.parametrize("text, hour", [
    ("At 3 o'clock.", 3), ("twelve o'clock", 12), ("around the 11 o’clock direction", 11), ("at 10:00", 10),
    ("It is at 7 oclock", 7), ("to the left", None), (None, None),
])
def test_clock_hours(text, hour):
    assert parse_clock(text) == hour


@pytest.mark.parametrize("text, xyz", [
    ("(1.00, -2.00, 3.50) m", [1.0, -2.0, 3.5]), ("[10, 20, -30] cm", [0.1, 0.2, -0.3]),
    ("x = 0.5, y = 1.5, z = -0.2", [0.5, 1.5, -0.2]), ("(1, 2)", None), (None, None),
])
def test_vectors(text, xyz):
    got = parse_xyz(text)
    assert got == (None if xyz is None else pytest.approx(xyz))


@pytest.mark.parametrize("text, point", [
    ("[(0.45, 0.62), (0.5, 0.5)]", (0.45, 0.62)), ("The point is [0.1,0.9].", (0.1, 0.9)), ("no idea", None),
])
def test_points(text, point):
    assert parse_point(text) == point


OBJECTS = ["the chair", "the red chair", "the table in the box [10, 20, 30, 40]"]


@pytest.mark.parametrize("text, index", [
    ("The red chair.", 2), ("the chair", 1), ("The table in the box [10, 20, 30, 40].", 3),
    ("the chair, not the red chair", None), ("the sofa", None), (None, None),
])
def test_candidates(text, index):
    assert parse_candidate(text, OBJECTS) == index


@pytest.mark.parametrize("text, order", [
    ("The red chair, the table in the box [10, 20, 30, 40], the chair.", [2, 3, 1]),
    ("the chair and the red chair", None),  # one candidate missing
])
def test_orders(text, order):
    assert parse_order(text, OBJECTS) == order


def test_an_order_names_candidates_nested_in_each_other():
    names = ["the smallest plant", "the plant behind the bed and in front of the smallest plant", "the lamp"]
    text = "The lamp, the plant behind the bed and in front of the smallest plant, the smallest plant."
    assert parse_order(text, names) == [3, 2, 1]
    assert parse_candidate("The plant behind the bed and in front of the smallest plant.", names) == 2
