"""A non-editable `pip install .` into a fresh virtualenv runs `hispatial demo` from a folder that is
not the repository: the SQL and dagster.yaml come from inside the installed package.

The package itself is built and installed from a copy of the repository's files (no network, no
build isolation: the running environment's setuptools builds it). Its dependencies are not
reinstalled (``--no-deps``): the fresh venv reads them from the running environment's site-packages
through a ``.pth`` path line, which adds the folder but runs none of its ``.pth`` hooks, so an
editable install of this project there stays invisible; the test asserts the code it ran is the
installed copy.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
LEFT_OUT = shutil.ignore_patterns(".git", ".venv", "data", "test-artifacts", "build", "*.egg-info", "__pycache__",
                                  ".pytest_cache")


def copy_source(dest: Path) -> Path:
    """The repository's files as a clean clone has them (dagster_home/ holds only dagster.yaml there)."""
    shutil.copytree(REPO, dest, ignore=LEFT_OUT)
    for entry in (dest / "dagster_home").iterdir():
        if entry.name != "dagster.yaml":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    return dest


def fresh_venv(path: Path) -> Path:
    venv.create(path, with_pip=False)
    site = next((path / "lib").glob("python3*/site-packages"))
    (site / "_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return path / "bin"


def test_a_non_editable_install_runs_the_demo_outside_the_repository(tmp_path):
    source, bin_dir = copy_source(tmp_path / "src"), fresh_venv(tmp_path / "venv")
    install = subprocess.run([sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install", "--quiet",
                              "--no-deps", "--no-build-isolation", "--no-index", str(source)],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH" and not k.startswith(("HISPATIAL_", "DAGSTER_"))}
    work = tmp_path / "elsewhere"
    work.mkdir()

    where = subprocess.run([str(bin_dir / "python"), "-c", "import hispatial_assets.bundled as b; print(b.SQL_DIR)"],
                           cwd=work, capture_output=True, text=True, env=env, timeout=120)
    assert where.returncode == 0, where.stderr
    sql_dir = Path(where.stdout.strip())
    assert sql_dir.is_relative_to(tmp_path / "venv") and (sql_dir / "views" / "qa.sql").is_file()

    demo = subprocess.run([str(bin_dir / "hispatial"), "demo", "--drops", "1", "--images", "1", "--root", "data"],
                          cwd=work, capture_output=True, text=True, env=env, timeout=900)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Summary:" in demo.stdout and "Traceback" not in demo.stderr
    assert (work / "dagster_home" / "dagster.yaml").read_text() == (REPO / "dagster_home" / "dagster.yaml").read_text()
    assert "dagster dev -m hispatial_assets.definitions" in demo.stdout  # no workspace.yaml here
    stats = subprocess.run([str(bin_dir / "hispatial"), "sql", "sql/qa_stats.sql", "--root", "data", "--format", "csv"],
                           cwd=work, capture_output=True, text=True, env=env, timeout=300)
    assert stats.returncode == 0 and stats.stdout.startswith("level,task,format,n"), stats.stderr
