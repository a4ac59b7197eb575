"""The files besides code that ship with the package: the SQL (`sql/`) and the Dagster instance
config (`dagster_home/dagster.yaml`), found from one place.

In the repository they are top-level folders (DESIGN §1); an installed package carries copies of them
inside itself (`hispatial_assets/sql/`, `hispatial_assets/dagster_home/`: see setup.py). Code asks
here, never relative to the source tree, so a non-editable `pip install .` works as a checkout does.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    installed = PACKAGE_DIR / name
    return installed if installed.is_dir() else PACKAGE_DIR.parent / name


SQL_DIR = _bundled("sql")
VIEWS_DIR = SQL_DIR / "views"
DAGSTER_YAML = _bundled("dagster_home") / "dagster.yaml"


def sql_text(name: str) -> str:
    """The text of a shipped query, e.g. ``sql_text("qa_stats.sql")``."""
    return (SQL_DIR / name).read_text()


def shipped_queries() -> list[str]:
    """The runnable queries users may name as ``sql/<name>.sql`` from anywhere (views aside)."""
    return sorted(p.name for p in SQL_DIR.glob("*.sql"))


def in_checkout() -> bool:
    """Whether the code runs from a repository checkout (editable or PYTHONPATH), not an installed copy."""
    return not (PACKAGE_DIR / "sql").is_dir() and (PACKAGE_DIR.parent / "pyproject.toml").is_file()


def default_dagster_home() -> str:
    """$DAGSTER_HOME, else the checkout's dagster_home/ (what `dagster dev` uses per the README), else
    ./dagster_home for an installed package."""
    if os.environ.get("DAGSTER_HOME"):
        return os.environ["DAGSTER_HOME"]
    return str(PACKAGE_DIR.parent / "dagster_home") if in_checkout() else os.path.abspath("dagster_home")
