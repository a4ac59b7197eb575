"""Answer kinds of our own QA rows (`qa.answers` writes them): how to read a reference from
``answer_value``, how to parse a raw answer of that kind (`qa.parse`), how to score it, and how to
say a computed value as answer text.

One set of rules for the self-built benchmark, the `prior` baseline's statistics and the `oracle` /
`geometry` answers, so every answerer's text goes through the same parser and scorer.

Kinds: ``bool``, ``choice`` (a letter), ``length`` (meters), ``xyz`` (meters), ``count``, ``clock``
(hour 1..12), ``index`` (1-based position among the candidates a question names: objects or points),
``order`` (the candidates' positions in the asked order), ``label`` (direction or facing words).
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from hispatial_assets.qa import answers as Q
from hispatial_assets.qa import parse as P
from hispatial_assets.qa.program import FACING_WORDS

LETTERS = Q.LETTERS
QUANTITATIVE_KINDS = ("length", "xyz")  # free numeric answers; everything else is qualitative
XYZ_REL_TOL = 0.25  # a free xyz answer is right within 25% of the vector's length (cf. SpatialRGPT's 25%)
LENGTH_REL_TOL = 0.25


def answer_kind(av: dict) -> str:
    """The kind of a decoded answer_value."""
    for key, kind in (("bool", "bool"), ("choice", "choice"), ("xyz", "xyz"), ("count", "count"), ("clock", "clock"),
                      ("order", "order"), ("index", "index")):
        if key in av:
            return kind
    if "meters" in av or "value" in av:
        return "length"
    if "label" in av:
        return "label"
    raise ValueError(f"unknown answer_value shape: {av}")


def reference(av: dict, object_ids: list[int] | None = None) -> tuple[str, Any]:
    """(kind, reference value) of an answer_value; ``object_ids``: the row's objects in the order the
    question shows them (needed for ``order``, whose reference is 1-based positions among them)."""
    kind = answer_kind(av)
    if kind == "bool":
        return kind, bool(av["bool"])
    if kind == "choice":
        return kind, av["choice"]
    if kind == "xyz":
        return kind, [float(v) for v in av["xyz"]]
    if kind in ("count", "clock", "index"):
        return kind, int(av[kind])
    if kind == "order":
        shown = list(object_ids or [])
        return kind, [shown.index(i) + 1 for i in av["order"]]
    if kind == "length":
        return kind, float(av["meters"]) if "meters" in av else float(av["value"])
    return kind, str(av["label"])


# ---------------------------------------------------------------------------------------------- candidates

_LAST_CALL = re.compile(r"=\s*(\w+)\((.*)\)\s*$")
_CANDIDATE_OPS = {"argmin": 1, "argmax": 1, "order": 1, "nearest": 1}  # leading non-candidate arguments


def final_op(program: str) -> str:
    m = _LAST_CALL.search(program.strip().splitlines()[-1])
    return m.group(1) if m else ""


def candidate_args(program: str) -> list[str]:
    """The arguments an index / order answer picks among, in the program's order: ``o<id>`` or
    ``px(u, v)`` tokens of the last line's argmin / argmax / order / nearest call."""
    m = _LAST_CALL.search(program.strip().splitlines()[-1])
    if not m or m.group(1) not in _CANDIDATE_OPS:
        return []
    args = re.findall(r"px\(\s*\d+\s*,\s*\d+\s*\)|'[^']*'|\b\w+\b", m.group(2))
    return args[_CANDIDATE_OPS[m.group(1)]:]


# ---------------------------------------------------------------------------------------------- parse and score


def parse_kind(kind: str, text: str, options: tuple[str, ...] = (), truth: Any = None) -> Any:
    """Parse raw answer ``text`` as ``kind``; None when unreadable. ``options``: the choice options or
    the candidate names; ``truth`` picks the word family of a ``label`` (facing vs direction)."""
    if text is None:
        return None
    if kind == "bool":
        return P.parse_bool(text)
    if kind == "choice":
        return P.parse_choice(text, len(options) or 4, options or None)
    if kind == "length":
        return P.parse_length(text)
    if kind == "xyz":
        return P.parse_xyz(text)
    if kind == "count":
        return P.parse_count(text)
    if kind == "clock":
        return P.parse_clock(text)
    if kind == "index":
        return P.parse_candidate(text, options)
    if kind == "order":
        return P.parse_order(text, options)
    if kind == "label":
        if truth in FACING_WORDS:
            return P.parse_facing(text)
        if truth in P.DIRECTION_LABELS:
            return P.parse_direction(text)
        t = text.strip().rstrip(".").lower()
        return t or None
    raise ValueError(f"unknown answer kind {kind!r}")


def score_kind(kind: str, value: Any, truth: Any) -> dict[str, float]:
    """Per-item score of a parsed value: exact for discrete kinds; within 25% for lengths and vectors
    (plus their absolute relative error)."""
    if kind == "length":
        rel = abs(value - truth) / max(abs(truth), 1e-4)
        return {"correct": float(rel <= LENGTH_REL_TOL), "abs_rel": rel}
    if kind == "xyz":
        t = np.asarray(truth, dtype=np.float64)
        rel = float(np.linalg.norm(np.asarray(value, dtype=np.float64) - t) / max(np.linalg.norm(t), 1e-4))
        return {"correct": float(rel <= XYZ_REL_TOL), "abs_rel": rel}
    return {"correct": float(value == truth)}


# ---------------------------------------------------------------------------------------------- say a value


def say(kind: str, value: Any, options: tuple[str, ...] = ()) -> str:
    """Answer text for a value of ``kind``, in the very words QA synthesis writes answers
    (`qa.answers`), so an answerer that says what it computed reads like our data."""
    if kind == "bool":
        return Q.yes_no(bool(value)).text
    if kind == "choice":
        n = len(options)
        return Q.choice(LETTERS.index(value), list(options)).text if value in LETTERS[:n] else str(value)
    if kind == "length":
        return Q.length(float(value), "m").text
    if kind == "xyz":
        return Q.xyz([float(v) for v in value], "gravity").text
    if kind == "count":
        return Q.count(int(value)).text
    if kind == "clock":
        return Q.clock(int(value)).text
    if kind == "index":
        k = int(value)
        return Q.which_object(options[k - 1], 0, k).text if 1 <= k <= len(options) else ""
    if kind == "order":
        return Q.ordered([options[int(k) - 1] for k in value], list(value)).text if value else ""
    return str(value)


def choose_option(value: Any, options: tuple[str, ...], op: str) -> str | None:
    """The letter of the option that a computed program value picks: the position for argmin / argmax /
    nearest; the nearest option for lengths and vectors; the equal option otherwise."""
    n = len(options)
    if op in ("argmin", "argmax", "nearest"):
        return LETTERS[int(value) - 1] if 1 <= int(value) <= n else None
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (float, np.floating)):
        parsed = [P.parse_length(o) for o in options]
        errs = [abs(p - float(value)) if p is not None else np.inf for p in parsed]
        return LETTERS[int(np.argmin(errs))] if np.isfinite(min(errs)) else None
    if isinstance(value, (np.ndarray, list, tuple)) and len(value) == 3 and op != "order":
        parsed = [P.parse_xyz(o) for o in options]
        errs = [np.linalg.norm(np.subtract(p, value)) if p is not None else np.inf for p in parsed]
        return LETTERS[int(np.argmin(errs))] if np.isfinite(min(errs)) else None
    want = f"{int(value)} o'clock" if op == "clock" else str(value)
    hits = [k for k, o in enumerate(options) if o.strip().lower() == want.lower()]
    return LETTERS[hits[0]] if len(hits) == 1 else None
