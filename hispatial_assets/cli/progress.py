"""Progress bars for long command-line work (rendering, runs, training): tqdm, with rate and ETA.

Bars go to stderr and only when it is a terminal, so logs, pipes and tests see none of them. Library
code never draws: it takes a ``progress`` callback (called with how much more is done), and the
command line hands it a bar's ``update``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from tqdm import tqdm

Progress = Callable[[int], object]  # called with the number of units just finished


@contextmanager
def bar(total: int | None, desc: str, unit: str) -> Iterator[tqdm]:
    """A tqdm bar on stderr, off when stderr is not a terminal (``disable=None``)."""
    with tqdm(total=total, desc=desc, unit=unit, disable=None, leave=False, dynamic_ncols=True) as b:
        yield b


def say(message: str) -> None:
    """Print a line without tearing a bar that is being drawn."""
    tqdm.write(message)


@contextmanager
def above_bars() -> Iterator[None]:
    """Print (stdout or stderr) inside this block without tearing a bar that is being drawn."""
    with tqdm.external_write_mode():
        yield
