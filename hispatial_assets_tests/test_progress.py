"""Long command-line work shows a progress bar with rate and ETA on a terminal, and nothing when the
output is not one (logs, pipes, CI)."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HISPATIAL_")}
    return {**env, "DAGSTER_HOME": str(tmp_path / "dagster_home"),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}


def run_on_a_terminal(args: list[str], env: dict[str, str], cwd: Path) -> str:
    """Everything the command wrote to stderr, a pseudo-terminal 120 columns wide."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    proc = subprocess.Popen([sys.executable, "-m", "hispatial_assets.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=600) == 0
    return b"".join(chunks).decode(errors="replace")


def test_make_drop_shows_images_rendered_with_rate_and_eta_on_a_terminal(tmp_path):
    drawn = run_on_a_terminal(["make-drop", "--id", "bar", "--images", "3", "--root", "root"], _env(tmp_path), tmp_path)
    # tqdm skips redraws under 0.1 s apart, so the last state may never be drawn before the bar clears;
    # the first image takes longer than that, so a state past the start always is
    assert "render bar" in drawn and re.search(r"[123]/3", drawn), drawn
    assert re.search(r"\d+/3 \[\d\d:\d\d<\d\d:\d\d, +[\d.]+(image/s|s/image)\]", drawn), drawn  # elapsed<ETA, rate


def test_no_bar_when_the_output_is_not_a_terminal(tmp_path):
    done = subprocess.run([sys.executable, "-m", "hispatial_assets.cli", "make-drop", "--id", "quiet", "--images", "2",
                           "--root", "root"], cwd=tmp_path, env=_env(tmp_path), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and done.stderr == "" and "\r" not in done.stdout
    assert done.stdout.startswith("wrote 2 images")


def test_a_pipeline_run_from_the_command_line_counts_its_steps(tmp_path):
    env = _env(tmp_path)
    subprocess.run([sys.executable, "-m", "hispatial_assets.cli", "make-drop", "--id", "steps", "--images", "1", "--root",
                    "root"], cwd=tmp_path, env=env, check=True, capture_output=True, timeout=600)
    drawn = run_on_a_terminal(["add-drop", "root/drops/steps", "--run", "--root", "root"], env, tmp_path)
    # drop_pipeline: 9 drop assets, qa_stats at the end and 6 checks, one step each
    assert re.search(r"drop_pipeline\[steps\]: +\d+%\|.*\| ?\d+/16 \[", drawn), drawn


def test_evaluate_counts_its_recipe_benchmark_partitions(tmp_path):
    bench = tmp_path / "benchmarks" / "cvbench3d"
    bench.mkdir(parents=True)
    (bench / "test_3d.jsonl").write_text("".join(
        f'{{"idx": {i}, "type": "3D", "task": "Depth", "question": "Which is closer?", "choices": ["a", "b"], '
        f'"answer": "(A)", "filename": "{i}.png"}}\n' for i in range(2)))
    env = {**_env(tmp_path), "HISPATIAL_BENCHMARKS_DIR": str(tmp_path / "benchmarks")}
    drawn = run_on_a_terminal(["evaluate", "--recipe", "prior", "--benchmark", "cvbench3d", "--root", "root"], env, tmp_path)
    assert re.search(r"evaluate: +\d+%\|.*\| ?1/1 \[\d\d:\d\d<\d\d:\d\d", drawn), drawn
