"""The one progress-callback type: stages report a line each; the CLI prints them, libraries stay quiet."""

from __future__ import annotations

from collections.abc import Callable

#: ``progress(line)``: receives one human-readable line per stage.
Progress = Callable[[str], None]


def quiet(_: str) -> None:
    """The default :data:`Progress`: says nothing."""
    return None
