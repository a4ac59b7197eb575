"""Every answer in its two forms: the text a learner reads (``answer``) and the same answer as JSON a
tool reads (``answer_value``, DESIGN §5). One builder per kind of answer:

    yes_no(True)                      "Yes"                  {"bool": true}
    choice(1, ["1.20 m", "2.00 m"])   "B. 2.00 m"            {"choice": "B", "options": ["1.20 m", "2.00 m"]}
    xyz((1.2, -0.5, 3.0), "camera")   "(1.20, -0.50, 3.00) m"
                                                             {"xyz": [1.200, -0.500, 3.000], "frame": "camera"}
    length(1.2, "cm")                 "120 cm"               {"value": 120, "unit": "cm", "meters": 1.2000}
    label_answer("To the left.", "left")
                                      "To the left."         {"label": "left"}
    clock(3)                          "At 3 o'clock."        {"label": "3 o'clock", "clock": 3}
    which_point(2)                    "Point 2."             {"label": "point 2", "index": 2}
    which_object("the cup", 7, 2)     "The cup."             {"label": "the cup", "object_id": 7, "index": 2}
    ordered(["the cup", "the box"], [7, 3])
                                      "The cup, the box."    {"order": [7, 3], "label": "the cup, the box"}
    count(3)                          "3"                    {"count": 3}

``choice`` and ``length`` add their keyword fields to the JSON object, in order (``option_ids`` when
the options are objects, ``dimension``, ``component``).

The JSON is exactly what `json.dumps` writes for the same object (test_answers checks every builder
against it), but each builder writes its object itself, with json's own string encoder for text:
numbers keep the decimals the answer is rounded to ("1.20", which json.dumps writes as 1.2), and
`json.dumps` builds a new encoder on every call, which at ~250 JSON answers per image made QA
synthesis ~10% slower on benchmarks/bench_qa.py.
"""

from __future__ import annotations

import json
from json.encoder import encode_basestring_ascii as json_string  # json.dumps of a str
from typing import Literal, NamedTuple

from hispatial_assets.qa.units import shown, unit_word

LETTERS = "ABCD"


class Answer(NamedTuple):
    text: str  # the ``answer`` column
    value: str  # the ``answer_value`` column: JSON


_YES_NO = (Answer("No", json.dumps({"bool": False})), Answer("Yes", json.dumps({"bool": True})))


def yes_no(truth: bool) -> Answer:
    return _YES_NO[truth]


def choice(pos: int, options: list[str], *, shown_as: list[str] | None = None, **extra: str | list[int]) -> Answer:
    """The option at ``pos`` (0-based) is right; ``shown_as``: the options as the question lists them,
    when that differs from their value (``facing left`` for ``left``)."""
    letter = LETTERS[pos]
    text = f"{letter}. {(shown_as or options)[pos]}"
    options_json = ", ".join(map(json_string, options))
    return Answer(text, f'{{"choice": "{letter}", "options": [{options_json}]{_fields(extra) if extra else ""}}}')


def choice_question(stem: str, options: list[str]) -> str:
    """The stem, then one line per option: ``A. <option>``."""
    return stem + "".join(map("\n{}. {}".format, LETTERS, options))


def place(truth, distractors: list, pos: int) -> list:
    """Options with the truth at position ``pos`` and the distractors, in order, elsewhere."""
    options = list(distractors)
    options.insert(pos, truth)
    return options


xyz_text = "({:.2f}, {:.2f}, {:.2f})".format  # xyz_text(x, y, z): "(x, y, z)" in meters, 2 decimals


def xyz(point, frame: Literal["camera", "gravity"]) -> Answer:
    """A 3D point or vector; the JSON keeps 3 decimals."""
    x, y, z = point
    return Answer(xyz_text(x, y, z) + " m", f'{{"xyz": [{x:.3f}, {y:.3f}, {z:.3f}], "frame": "{frame}"}}')


def length(meters: float, unit: Literal["m", "cm", "in", "ft"], **extra: str) -> Answer:
    """A length shown in ``unit`` ("120 cm"); the JSON keeps the shown number and the meters (4 decimals)."""
    number, _ = shown(meters, unit)
    return Answer(f"{number} {unit_word(unit)}", f'{{"value": {number}, "unit": "{unit}", "meters": {meters:.4f}{_fields(extra) if extra else ""}}}')


def label_answer(text: str, label: str) -> Answer:
    return Answer(text, f'{{"label": {json_string(label)}}}')


def clock(hour: int) -> Answer:
    return Answer(f"At {hour} o'clock.", f'{{"label": "{hour} o\'clock", "clock": {hour}}}')


def which_point(index: int) -> Answer:
    """Point ``index`` (1-based) of those the question names."""
    return Answer(f"Point {index}.", f'{{"label": "point {index}", "index": {index}}}')


def which_object(expression: str, object_id: int, index: int) -> Answer:
    """The object named by ``expression``, the ``index``-th (1-based) the question names."""
    return Answer(_sentence(expression), f'{{"label": {json_string(expression)}, "object_id": {object_id}, "index": {index}}}')


def ordered(expressions: list[str], object_ids: list[int]) -> Answer:
    """Objects in order."""
    listed = ", ".join(expressions)
    return Answer(_sentence(listed), f'{{"order": {_int_list(object_ids)}, "label": {json_string(listed)}}}')


def count(n: int) -> Answer:
    return Answer(str(n), f'{{"count": {n}}}')


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + "."


def _int_list(values: list[int]) -> str:
    return "[" + ", ".join(map(str, values)) + "]"


def _fields(extra: dict[str, str | list[int]]) -> str:
    """The extra fields, each after a comma: ``, "dimension": "height"``, ``, "option_ids": [3, 5]``."""
    return "".join([f', "{key}": {json_string(v) if isinstance(v, str) else _int_list(v)}' for key, v in extra.items()])
