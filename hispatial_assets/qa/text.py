"""Shared phrasing: frame names in words, number formatting, plurals."""

from __future__ import annotations

import string

CAMERA_FRAME = (
    "in the camera frame (x right, y down, z forward)",
    "in camera coordinates (x to the right, y downward, z into the scene)",
    "using the camera coordinate system (x right, y down, z pointing forward)",
)
GRAVITY_FRAME = (
    "in the gravity-aligned frame centered at the camera (x right, y forward, z up)",
    "in gravity-aligned coordinates with the camera at the origin (x to the right, y forward, z up)",
    "using the camera-centered, gravity-aligned frame (x right, y forward, z up)",
)
CAMERA_VIEW = ("from the camera's viewpoint", "as seen from the camera", "from the camera's point of view")
UNIT_HINT = {"m": "in meters", "cm": "in centimeters", "in": "in inches", "ft": "in feet"}


def plural(label: str) -> str:
    irregular = {"person": "people", "man": "men", "woman": "women", "child": "children",
                 "mouse": "mice", "foot": "feet", "shelf": "shelves", "knife": "knives"}
    last = label.rsplit(" ", 1)
    head, word = (last[0] + " ", last[1]) if len(last) == 2 else ("", last[0])
    if word in irregular:
        return head + irregular[word]
    if word.endswith(("s", "x", "z", "ch", "sh")):
        return head + word + "es"
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return head + word[:-1] + "ies"
    return head + word + "s"


def join_and(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class Template(str):
    """A question template (a ``str``) whose ``format(**fields)`` is compiled once to an f-string
    function: the same text as ``str.format``.

    Why not plain ``str.format``: it parses the template again on every call, about once per
    question, and with plain templates QA synthesis was ~4% slower on benchmarks/bench_qa.py.
    """

    def __new__(cls, text: str):
        self = super().__new__(cls, text)
        fn = _compile(text)
        if fn is not None:
            self.format = fn  # the instance attribute shadows str.format
        return self


def _compile(text: str):
    parts, names = [], []
    for lit, name, spec, conv in string.Formatter().parse(text):
        if lit:
            parts.append("f" + repr(lit.replace("{", "{{").replace("}", "}}")))
        if name is None:
            continue
        if not name.isidentifier() or name.startswith("_") or "{" in (spec or ""):
            return None  # positional, attribute / index access or nested fields: keep str.format
        names.append(name)
        parts.append("f" + repr("{" + name + (f"!{conv}" if conv else "") + (f":{spec}" if spec else "") + "}"))
    args = ", ".join(dict.fromkeys(names))
    src = f"lambda {'*, ' + args + ', ' if args else ''}**_kw: {' '.join(parts) or repr('')}"
    return eval(src, {})  # the source is built from the template's own parse


def templates(obj):
    """``obj`` (a str, or tuples / dicts of them) with every str made a `Template`."""
    if isinstance(obj, str):
        return Template(obj)
    if isinstance(obj, tuple):
        return tuple(templates(x) for x in obj)
    if isinstance(obj, dict):
        return {k: templates(v) for k, v in obj.items()}
    return obj
