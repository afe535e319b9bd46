"""The ``smar-ltr`` console script: the command modules imported inside a guard.

A Ctrl-C while the command modules load (the first second of every command) and a reader that went away
(``smar-ltr ... | head``) end as one line or silently, never as a traceback.
"""

from __future__ import annotations

import os
import sys

#: Exit status of an interrupted command (the shell convention 128 + SIGINT), as :mod:`smar_ltr.cli.errors`.
INTERRUPTED = 130


def main() -> None:
    """Console-script entry point: :func:`smar_ltr.cli.app.main` behind the two guards."""
    try:
        from smar_ltr.cli.app import main as run
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted before the command started; nothing was written\n")
        sys.exit(INTERRUPTED)
    try:
        run()
        sys.stdout.flush()  # a closed pipe shows here, not in the interpreter's exit
    except BrokenPipeError:
        # the reader closed the pipe (``| head``): what it wanted is printed; Python's documented recipe
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        sys.exit(1)
