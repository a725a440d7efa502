"""Command-line interface: ``transzero classify | eval | embed | models | demo | save | serve | labels``.

Thin wiring in the manner of huggingface_hub's ``cli/``: one module per command, shared options
in :mod:`._common`; each command parses its flags into a :class:`~transzero.pipeline.JobSpec`,
runs it through the pipeline and prints the result. The commands, flags and JSON keys are a
public contract used by scripts: extend them, never rename them. User mistakes print one
``error: ...`` line and exit 2. ``main(argv)`` is the entry point.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any, Optional

import typer

from ..errors import JobInterrupted, TranszeroError, TranszeroWarning
from ._common import EXIT_USER_ERROR, err, set_command
from .classify import classify
from .demo import demo
from .embed import embed
from .eval import eval_
from .labels import labels_app
from .models import models
from .report import report
from .save import save
from .serve import serve

__all__ = ["app", "main"]

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Classify items into classes described only in words, standing on pretrained encoders.",
    pretty_exceptions_enable=False,
)
app.command()(classify)
app.command(name="eval")(eval_)
app.command()(embed)
app.command()(models)
app.command()(report)
app.command()(demo)
app.command()(save)
app.command()(serve)
app.add_typer(labels_app, name="labels")


def _show_warning(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    """transzero's own warnings as one line on stderr (no source line, no traceback)."""
    if issubclass(category, TranszeroWarning):
        err.print(f"[yellow]warning:[/] {message}", highlight=False)
    else:
        _default_showwarning(message, category, *args, **kwargs)


_default_showwarning = warnings.showwarning


def main(argv: Optional[list[str]] = None) -> None:
    """Entry point: runs the app, turning user errors into one line on stderr and exit status 2."""
    previous = warnings.showwarning
    warnings.showwarning = _show_warning
    try:
        JobInterrupted.last = None
        set_command(sys.argv[1:] if argv is None else argv)
        rc = app(args=argv, prog_name="transzero", standalone_mode=False)
        if rc == 130:  # Ctrl-C (typer returns its status): say what the job kept
            _interrupted(JobInterrupted.last or KeyboardInterrupt())
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except TranszeroError as exc:
        err.print("[bold red]error:[/] " + _escape(str(exc)), highlight=False, soft_wrap=True)
        sys.exit(EXIT_USER_ERROR)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        _interrupted(exc)
        sys.exit(130)
    except Exception as exc:
        # click usage errors (typer vendors its own click): print the usage line, no traceback
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            sys.exit(exc.exit_code)
        if type(exc).__name__ == "Abort":
            sys.exit(1)
        raise
    finally:
        warnings.showwarning = previous


def _interrupted(exc: KeyboardInterrupt) -> None:
    """Ctrl-C: a job's :class:`JobInterrupted` says what was kept and how to resume."""
    err.print(_escape(str(exc)) if isinstance(exc, JobInterrupted) and str(exc) else "interrupted", highlight=False)


def _escape(text: str) -> str:
    from rich.markup import escape

    from ._common import printable

    return escape(printable(text))


if __name__ == "__main__":  # pragma: no cover
    main()
