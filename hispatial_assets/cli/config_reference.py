"""The configuration reference: every environment variable and every key of ``$HISPATIAL_CONFIG``
with its default, generated from the code (the backends' constructors, `QAConfig`, `TrainConfig`).

The README's "Configuration reference" section is this module's output between two markers, and a
test compares them, so the two cannot drift: after changing a setting, run
``python -m hispatial_assets.cli.config_reference --write README.md`` (or ``hispatial config --reference``).
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path
from typing import Any

from hispatial_assets.config import (BENCHMARKS_DIR_ENV, CONFIG_ENV, PROFILE_ENV, SECTIONS, TRAINING_KEYS, backend_env,
                                     benchmark_keys)
from hispatial_assets.perception import registry

START, END = "<!-- config-reference:start -->", "<!-- config-reference:end -->"

# name -> (default, what it does). A test finds every variable the code reads and checks it is here.
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "HISPATIAL_ROOT": ("`./data`", "the data root when a command has no `--root`"),
    CONFIG_ENV: ("unset", "a JSON file with the sections below"),
    PROFILE_ENV: ("`estimated`", "`estimated` or `exact`: the backends every stage starts from (over the file's `profile`)"),
    "HISPATIAL_<STAGE>_BACKEND": ("unset", "the backend of one stage, over the file's; only the name: the file's "
                                  "settings for it stay. One per stage: "
                                  + ", ".join(f"`{backend_env(s)}`" for s in registry.BACKENDS)),
    "HISPATIAL_CATALOG_DIR": ("`./catalog`", "where the DuckDB file lives when the data root is not a local folder"),
    "HISPATIAL_SENSOR_INTERVAL_S": ("`15`", "seconds between `drop_sensor` ticks"),
    "HISPATIAL_MAX_IMAGE_PIXELS": ("`100000000`", "images with more pixels are rejected before they are decoded"),
    BENCHMARKS_DIR_ENV: ("unset", "a folder holding one subfolder per published benchmark (`<dir>/<benchmark>/`), "
                         "after the file's `benchmarks.<benchmark>` and before its `benchmarks.dir`"),
    "HISPATIAL_EXECUTOR": ("unset (`default`)", "where every job's steps run, over the file's `executor.name`: "
                           "`default`, `multiprocess`, `in_process`, `dask` or `k8s` (README \"Scale-out\")"),
    "DASK_SCHEDULER_ADDRESS": ("unset", "the `dask` executor's scheduler when the file's `executor` has no `cluster`"),
    "HISPATIAL_TRACEBACK": ("unset", "`1`: an unexpected error in a command shows its traceback"),
    "DAGSTER_HOME": ("the checkout's `dagster_home/`, else `./dagster_home`",
                     "the Dagster instance (runs, event log, partitions); seeded with the shipped `dagster.yaml`"),
    "RANK": ("unset", "set by `torchrun`: multi-GPU training (with `WORLD_SIZE`, `LOCAL_RANK`)"),
    "WORLD_SIZE": ("unset", "set by `torchrun`"),
    "LOCAL_RANK": ("`0`", "set by `torchrun`"),
}
# Read by the tests and benchmarks only.
TEST_ENVIRONMENT: dict[str, tuple[str, str]] = {
    "HISPATIAL_E2E_STARTUP_S": ("`150`", "seconds the UI tests wait for `dagster dev` to come up"),
    "HISPATIAL_TEST_ARTIFACTS": ("`test-artifacts/`", "where the UI tests save screenshots and logs"),
    "HISPATIAL_CHROMIUM": ("`/usr/bin/chromium`", "the browser the UI tests drive"),
    "HISPATIAL_FAULT_GATE": ("unset", "set by the fault tests: a run waits at a gate so it can be killed there"),
}


def _value(default: Any) -> str:
    if default is registry.REQUIRED:
        return "**required**"
    if default is None:
        return "none"
    if isinstance(default, tuple):
        default = list(default)
    try:
        return f"`{json.dumps(default)}`"
    except TypeError:
        return f"`{default!r}`"


def _table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> list[str]:
    """A Markdown table; a ``|`` inside a cell (``float | None``) is escaped, as tables need."""
    cells = [[c.replace("|", "\\|") for c in row] for row in rows]
    return [f"| {' | '.join(header)} |", f"|{'---|' * len(header)}"] + [f"| {' | '.join(r)} |" for r in cells]


def environment_section() -> list[str]:
    rows = [(f"`{name}`", default, what) for name, (default, what) in ENVIRONMENT.items()]
    tests = ", ".join(f"`{name}` ({what}, default {default})" for name, (default, what) in TEST_ENVIRONMENT.items())
    return ["### Environment variables", "", *_table(("variable", "default", "what it does"), rows), "",
            f"The tests and benchmarks also read {tests}.", ""]


def stages_section() -> list[str]:
    lines = [f"### `{CONFIG_ENV}`", "",
             f"A JSON object with the sections {', '.join(f'`{s}`' for s in SECTIONS)}; every one is optional, and a "
             "key, stage, backend or value that is not in this reference is an error that names it.", "",
             "`profile`: the backends each stage starts from.", "",
             *_table(("stage", *[f"`{p}`" for p in registry.PROFILES]),
                     [(f"`{stage}`", *[_value(registry.PROFILES[p][stage]) for p in registry.PROFILES])
                      for stage in registry.BACKENDS]), "",
             "`stages.<stage>`: `backend` and its settings, flat (`{\"backend\": \"moge\", \"path\": ...}`) or in a "
             "block per backend (`{\"backend\": \"synthetic\", \"moge\": {\"path\": ...}}`); a stage given in the "
             "file replaces the profile's, and without `backend` keeps the profile's backend.", ""]
    for stage, names in registry.BACKENDS.items():
        rows = []
        for name in names:
            specs = registry.backend_setting_specs(stage, name)
            rows += [(f"`{name}`", f"`{s.name}`", _value(s.default), f"`{s.annotation}`") for s in specs.values()] or \
                [(f"`{name}`", "—", "", "")]
        lines += [f"`stages.{stage}`:", "", *_table(("backend", "setting", "default", "type"), rows), ""]
    return lines


def qa_section() -> list[str]:
    from hispatial_assets.qa.config import QAConfig

    rows = []
    for f in dataclasses.fields(QAConfig):
        default = f.default if f.default is not dataclasses.MISSING else f.default_factory()  # type: ignore[misc]
        rows.append((f"`{f.name}`", _value(default), f"`{f.type}`"))
    return ["`qa`: how many questions of which kind (`hispatial_assets/qa/config.py`).", "",
            *_table(("setting", "default", "type"), rows), ""]


def training_section() -> list[str]:
    from hispatial_assets.model.train import TrainConfig

    defaults = {f.name: f.default for f in dataclasses.fields(TrainConfig) if f.default is not dataclasses.MISSING}
    defaults["device"] = "cpu"  # the training resource's and `hispatial train`'s default (TrainConfig's is "auto")
    rows = [(f"`{key}`", _value(defaults.get(key)), f"`{kind}`") for key, kind in TRAINING_KEYS.items()]
    return ["`training`: `hispatial train` and the `checkpoints` asset (defaults: `TrainConfig`'s; "
            "`general_vqa_path` none: general VQA made from the drops).", "",
            *_table(("setting", "default", "type"), rows), ""]


def benchmarks_section() -> list[str]:
    rows = [("`dir`", "none", "`str | None`", f"a folder of one subfolder per benchmark, after `${BENCHMARKS_DIR_ENV}`")]
    rows += [(f"`{name}`", "none", "`str | None`", "the local copy of its published files") for name in benchmark_keys()[1:]]
    return ["`benchmarks`: local folders of the published benchmarks `hispatial evaluate` reads (nothing is "
            "downloaded; `self` is built from the drops and takes no path; see \"Evaluation\").", "",
            *_table(("key", "default", "type", "what it is"), rows), ""]


def executor_section() -> list[str]:
    from hispatial_assets.defs.executors import DEFAULT_EXECUTOR, EXECUTORS

    return [f"`executor`: where every job's steps run (defs/executors.py; default `{json.dumps(DEFAULT_EXECUTOR)}`). "
            f"`name` is one of {', '.join(f'`{n}`' for n in EXECUTORS)}; the other keys are that Dagster executor's "
            "own settings, flat or in a block per executor name (`{\"name\": \"dask\", \"dask\": {\"cluster\": ...}}`), "
            "checked against its schema when the definitions load.", ""]


def reference_markdown() -> str:
    lines = [*environment_section(), *stages_section(), *qa_section(), *training_section(), *benchmarks_section(),
             *executor_section()]
    return "\n".join(lines).rstrip() + "\n"


def replace_block(text: str, block: str) -> str:
    """``text`` with what lies between the markers replaced by ``block``."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{block}{END}{tail}"


def readme_block(text: str) -> str:
    return text.split(START, 1)[1].split(END, 1)[0].lstrip("\n")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--write"] and len(args) == 2:
        path = Path(args[1])
        path.write_text(replace_block(path.read_text(), reference_markdown()))
        return 0
    sys.stdout.write(reference_markdown())
    return 0


if __name__ == "__main__":
    sys.exit(main())
