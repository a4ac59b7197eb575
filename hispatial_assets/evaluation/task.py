"""A benchmark is a small task registered by name (lmms-eval style):

    @register_task("cvbench3d")
    def cvbench3d() -> Task: ...

``Task(load, to_prompt, parse, score, aggregate)``: ``load(source)`` reads the published files from a
local folder (or, for ``self``, a data root) into `Item`s; ``to_prompt(item)`` is the text the answerer
sees; ``parse(text, item)`` turns a raw answer into the reference's terms (None: unreadable, which
scores as wrong and is counted as a parse failure); ``score(item, value)`` is per item
(``{"correct": 0 or 1, ...}``); ``aggregate(items, scores)`` gives the score rows (category, metric,
value, n, parse_failures).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from hispatial_assets.storage import io


@dataclass(frozen=True)
class Item:
    """One benchmark question.

    ``answer``: the reference in the task's terms (a letter, a bool, meters, a polygon, ...).
    ``kind``: how answers are read (choice, bool, length, xyz, label, count, clock, index, order, point,
    region, ...). ``image``: a path/URI or the encoded bytes. ``options``: choice options, or the names
    of the candidates a free answer picks from. ``categories``: every score group the item counts in
    besides "all". ``meta``: what a task or answerer needs besides (drop and image ids, program, ...).
    """

    id: str
    question: str
    answer: Any
    kind: str
    categories: tuple[str, ...] = ()
    image: str | bytes | None = None
    options: tuple[str, ...] = ()
    meta: Mapping[str, Any] = field(default_factory=dict)
    prompt: str = ""

    def rgb(self) -> np.ndarray:
        """(H, W, 3) uint8."""
        from hispatial_assets.storage.images import decode_rgb, read_rgb

        if self.image is None:
            raise ValueError(f"item {self.id} has no image")
        return decode_rgb(self.image) if isinstance(self.image, bytes) else read_rgb(self.image)


Score = dict[str, float]  # per item: "correct" (0/1) and any other metric of the task


@dataclass(frozen=True)
class ScoreRow:
    category: str
    metric: str
    value: float
    n: int
    parse_failures: int


@dataclass(frozen=True)
class Task:
    name: str
    load: Callable[[str], list[Item]]
    to_prompt: Callable[[Item], str]
    parse: Callable[[str, Item], Any]
    score: Callable[[Item, Any], Score]
    aggregate: Callable[[Sequence[Item], Sequence[Score]], list[ScoreRow]]
    description: str = ""
    source: str = "benchmark_dir"  # "benchmark_dir": published files in a local folder; "data_root": our drops

    def prepare(self, source: str) -> list[Item]:
        """Load the items and fill in their prompts."""
        return [replace(it, prompt=self.to_prompt(it)) for it in self.load(source)]


_REGISTRY: dict[str, Callable[[], Task]] = {}


def register_task(name: str):
    def wrap(fn: Callable[[], Task]) -> Callable[[], Task]:
        _REGISTRY[name] = fn
        return fn
    return wrap


class UnknownBenchmark(ValueError):
    pass


def get_task(name: str) -> Task:
    import hispatial_assets.evaluation.tasks  # noqa: F401 - registers every task

    try:
        return _REGISTRY[name]()
    except KeyError:
        raise UnknownBenchmark(f"unknown benchmark {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None


def registered_tasks() -> list[str]:
    import hispatial_assets.evaluation.tasks  # noqa: F401

    return sorted(_REGISTRY)


# ------------------------------------------------------------------------------------- where data lives


class BenchmarkDataNotFound(FileNotFoundError):
    """A benchmark's files are not where the settings say (nothing is ever downloaded)."""

    def __init__(self, benchmark: str, path: str | None, setting: str, expected: str = ""):
        self.benchmark, self.path, self.setting = benchmark, path, setting
        where = f"not found at {path!r}" if path else "has no local path configured"
        hint = f" (expected {expected})" if expected else ""
        super().__init__(f"benchmark {benchmark!r}: data {where}{hint}; set {setting}. Benchmarks are read from local "
                         f"copies of the published files only: nothing is downloaded")


def benchmark_dir(name: str) -> str:
    """The local folder of a published benchmark: ``benchmarks.<name>`` in ``$HISPATIAL_CONFIG``, else
    ``$HISPATIAL_BENCHMARKS_DIR/<name>``, else ``benchmarks.dir/<name>`` in ``$HISPATIAL_CONFIG``."""
    from hispatial_assets.config import BENCHMARKS_DIR_ENV, CONFIG_ENV, read_config_file

    raw, _ = read_config_file()  # a typo in the section is an error naming it (config.benchmark_keys)
    section: dict = raw.get("benchmarks") or {}
    config_path = os.environ.get(CONFIG_ENV)
    setting = f"${BENCHMARKS_DIR_ENV} (expects <dir>/{name}/) or \"benchmarks\": {{\"{name}\": PATH}} in $HISPATIAL_CONFIG"
    if section.get(name):
        path, setting = str(section[name]), f"benchmarks.{name} in $HISPATIAL_CONFIG ({config_path})"
    elif os.environ.get(BENCHMARKS_DIR_ENV):
        path, setting = io.join(os.environ[BENCHMARKS_DIR_ENV], name), f"${BENCHMARKS_DIR_ENV}"
    elif section.get("dir"):
        path, setting = io.join(str(section["dir"]), name), f"benchmarks.dir in $HISPATIAL_CONFIG ({config_path})"
    else:
        raise BenchmarkDataNotFound(name, None, setting)
    if not io.exists(path):
        raise BenchmarkDataNotFound(name, path, setting)
    return path


def find_file(benchmark: str, folder: str, names: Sequence[str]) -> str:
    """The first of ``names`` (glob patterns) present in ``folder``; a clear error otherwise."""
    fs, base = io.fs_and_path(folder)
    for pattern in names:
        hits = sorted(fs.glob(f"{base.rstrip('/')}/{pattern}"))
        if hits:
            return hits[0] if "://" not in folder else fs.unstrip_protocol(hits[0])
    raise BenchmarkDataNotFound(benchmark, folder, "the benchmark's folder to a copy of the published files",
                                expected="one of " + ", ".join(names))
