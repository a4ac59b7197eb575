"""Each answer builder writes the text a learner reads and the JSON json.dumps would write for the
same answer (numbers keep the decimals the answer is rounded to)."""

import json

import pytest

from hispatial_assets.qa.answers import (choice, choice_question, clock, count, label_answer, length, ordered, place,
                                        which_object, which_point, xyz, yes_no)

STRINGS = ["plain", 'the "quoted" chair', "back\\slash", "tab\there", "ctrl\x01", "café", ""]


def test_yes_no():
    assert yes_no(True) == ("Yes", '{"bool": true}')
    assert yes_no(False) == ("No", '{"bool": false}')


@pytest.mark.parametrize("options", [["x", "y"], ["x", "y", "z"], STRINGS[:4], STRINGS[3:]])
def test_choice_names_the_letter_and_lists_the_options(options):
    answer = choice(1, options, option_ids=[7, 3, 5, 2][: len(options)])
    assert answer.text == f"B. {options[1]}"
    assert answer.value == json.dumps({"choice": "B", "options": options, "option_ids": [7, 3, 5, 2][: len(options)]})
    assert json.loads(answer.value)["options"] == options


def test_choice_shown_differently_from_its_value():
    answer = choice(2, ["left", "right", "away from the camera"], shown_as=["facing left", "facing right", "facing away"])
    assert answer.text == "C. facing away"
    assert json.loads(answer.value) == {"choice": "C", "options": ["left", "right", "away from the camera"]}


def test_choice_question_and_place():
    options = place("truth", ["d1", "d2", "d3"], 2)
    assert options == ["d1", "d2", "truth", "d3"]
    assert choice_question("Which?", options) == "Which?\nA. d1\nB. d2\nC. truth\nD. d3"


def test_xyz_keeps_three_decimals():
    answer = xyz((1.2, -0.00004, 3.0), "camera")
    assert answer.text == "(1.20, -0.00, 3.00) m"
    assert answer.value == '{"xyz": [1.200, -0.000, 3.000], "frame": "camera"}'
    assert json.loads(answer.value) == {"xyz": [1.2, -0.0, 3.0], "frame": "camera"}


@pytest.mark.parametrize(("meters", "unit", "text", "value"), [
    (1.2, "m", "1.20 m", '{"value": 1.20, "unit": "m", "meters": 1.2000}'),
    (1.2049, "cm", "120 cm", '{"value": 120, "unit": "cm", "meters": 1.2049}'),
    (1.2, "in", "47 inches", '{"value": 47, "unit": "in", "meters": 1.2000}'),
    (1.2, "ft", "3.9 feet", '{"value": 3.9, "unit": "ft", "meters": 1.2000}'),
])
def test_length_shows_the_unit_and_keeps_the_meters(meters, unit, text, value):
    assert length(meters, unit) == (text, value)


def test_length_extra_fields_follow_the_meters():
    answer = length(0.5, "m", dimension="height")
    assert answer.value == '{"value": 0.50, "unit": "m", "meters": 0.5000, "dimension": "height"}'
    assert choice(0, ["a", "b"], component="x").value == json.dumps({"choice": "A", "options": ["a", "b"], "component": "x"})


@pytest.mark.parametrize("text", STRINGS)
def test_label_answers_write_what_json_dumps_writes(text):
    assert label_answer("Some text.", text) == ("Some text.", json.dumps({"label": text}))
    assert which_object(text, 4, 2) == (text[:1].upper() + text[1:] + ".",
                                         json.dumps({"label": text, "object_id": 4, "index": 2}))
    assert ordered([text, "the box"], [4, 9]) == (f"{text[:1].upper() + text[1:]}, the box.",
                                                json.dumps({"order": [4, 9], "label": f"{text}, the box"}))


def test_numbered_answers():
    assert clock(12) == ("At 12 o'clock.", json.dumps({"label": "12 o'clock", "clock": 12}))
    assert which_point(2) == ("Point 2.", json.dumps({"label": "point 2", "index": 2}))
    assert count(0) == ("0", json.dumps({"count": 0}))
