"""Turn user-facing errors into one line on stderr and exit code 1."""

from __future__ import annotations

import contextlib
import functools
import signal
import warnings
from collections.abc import Callable, Iterator
from typing import Any, ParamSpec, TypeVar

import typer

from smar_ltr.core.atomic import remove_own_temporaries
from smar_ltr.errors import SettingNote, SmarError, SmarWarning

#: Exit status of a command stopped by Ctrl-C or SIGTERM (the shell convention 128 + SIGINT).
INTERRUPTED = 130

P = ParamSpec("P")
R = TypeVar("R")


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` to stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def one_line_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Decorator for commands: :class:`SmarError` and file-system errors become one line and exit code 1."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            with policy_warnings_as_lines():
                return fn(*args, **kwargs)
        except SmarError as exc:
            raise fail(str(exc)) from None
        except BrokenPipeError:  # the reader went away (``| head``): not an error of the command's files
            raise
        except FileNotFoundError as exc:
            raise fail(f"file not found: {exc.filename or exc}") from None
        except OSError as exc:  # permission, read-only or full disk, a folder where a file was expected, ...
            raise fail(os_error_line(exc)) from None
        except KeyboardInterrupt:  # Ctrl-C, or SIGTERM (see interrupt_on_sigterm)
            remove_own_temporaries()  # the writers remove theirs, unless the signal came before their ``try``
            typer.echo(
                "error: interrupted; nothing is left half-written (finished files are kept, and sweep and tune "
                "continue where they stopped)",
                err=True,
            )
            raise typer.Exit(code=INTERRUPTED) from None

    return wrapper


@contextlib.contextmanager
def policy_warnings_as_lines() -> Iterator[None]:
    """Print each distinct :class:`SmarWarning` once as ``warning: <message>`` on stderr (no file:line noise);
    a :class:`SettingNote` as ``note: <message>``."""
    shown: set[str] = set()
    previous = warnings.showwarning

    def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        text = str(message)
        if not issubclass(category, SmarWarning):
            previous(message, category, *args, **kwargs)
        elif text not in shown:
            shown.add(text)
            typer.echo(f"{'note' if issubclass(category, SettingNote) else 'warning'}: {text}", err=True)

    with warnings.catch_warnings():
        warnings.simplefilter("always", SmarWarning)
        warnings.showwarning = show
        yield


def os_error_line(exc: OSError) -> str:
    """One line for a file-system error: what failed, on which path, and what to do."""
    where = f" {exc.filename!r}" if exc.filename else ""
    reason = exc.strerror or str(exc) or type(exc).__name__
    return f"cannot access{where}: {reason}; check the path and its permissions, or choose another location"


def interrupt_on_sigterm() -> None:
    """Make SIGTERM behave like Ctrl-C, so the atomic writers remove their temporaries before exiting."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
