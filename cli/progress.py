"""Signs of life for long stages: a live spinner with the elapsed time of each stage on stderr.

The library reports progress as one line per stage (``progress("stage 2/4: features")``). On a terminal each
line becomes a rich progress row (spinner, stage, elapsed seconds; a finished stage keeps its time); when stderr
is not a terminal (logs, pipes, CI) the lines are printed plainly as ``[smar-ltr] <line>``; ``--quiet``
prints nothing.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import Any

import typer

Say = Callable[[str], None]


class StageProgress:
    """Callable that shows each progress line as a live stage row (see the module docstring).

    Parameters
    ----------
    quiet : bool
        Print nothing.
    live : bool, optional
        Force the live display on or off (default: on when stderr is a terminal).
    """

    def __init__(self, quiet: bool, live: bool | None = None) -> None:
        self.quiet = quiet
        self.live = (not quiet) and (sys.stderr.isatty() if live is None else live)
        self._bar: Any = None
        self._task: Any = None

    def __call__(self, line: str) -> None:
        if self.quiet:
            return
        if not self.live:
            typer.echo(f"[smar-ltr] {line}", err=True)
            return
        if self._bar is None:
            from rich.console import Console
            from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                SpinnerColumn(finished_text="[green]done"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
            )
            self._bar.start()
        self._finish_stage()
        self._task = self._bar.add_task(line, total=1)

    def _finish_stage(self) -> None:
        if self._task is not None:
            self._bar.update(self._task, completed=1)

    def close(self) -> None:
        """Mark the last stage done and stop the live display."""
        if self._bar is not None:
            self._finish_stage()
            self._bar.stop()
            self._bar = None


@contextlib.contextmanager
def stage_progress(quiet: bool, live: bool | None = None) -> Iterator[StageProgress]:
    """A :class:`StageProgress` closed on exit (also on errors, so an error line never mixes with a live row)."""
    progress = StageProgress(quiet, live)
    try:
        yield progress
    finally:
        progress.close()
