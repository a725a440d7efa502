"""Command-line options declared on the job spec (:func:`transzero.pipeline.spec.option`) become typer options.

``@spec_options("classify")`` appends one option per declared field to a command's signature and hands their
values to the command as ``options`` (field name -> value), which ``with_options(spec, options)`` puts into the
spec. A new option is then a spec field plus the stage that reads it: no CLI edit.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from ..pipeline.spec import declared_options

F = TypeVar("F", bound=Callable[..., Any])


def spec_options(command: str) -> Callable[[F], F]:
    """Add the spec's declared options of ``command`` to a typer command that takes ``options: dict``."""
    def wrap(fn: F) -> F:
        sig = inspect.signature(fn)
        hints = typing.get_type_hints(fn)  # resolved in the command's module (typer resolves them in ours)
        base = [p.replace(annotation=hints.get(p.name, p.annotation))
                for p in sig.parameters.values() if p.name != "options"]
        taken = {p.name for p in base}
        extra = []
        for _, f, kind, opt in declared_options(command):
            if f.name in taken:
                raise TypeError(f"{command}: option {f.name!r} is declared on the spec and given by hand")
            extra.append(inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, annotation=kind,
                                           default=typer.Option(f.default, opt.flag, help=opt.help)))
        names = [p.name for p in extra]

        @functools.wraps(fn)
        def command_fn(**kwargs: Any) -> Any:
            return fn(**{k: v for k, v in kwargs.items() if k not in names},
                      options={k: kwargs[k] for k in names if k in kwargs})

        # keyword-only after the command's own parameters (typer reads the signature, not the code)
        params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) if p.kind == p.POSITIONAL_OR_KEYWORD else p for p in base]
        command_fn.__signature__ = sig.replace(parameters=params + extra)  # type: ignore[attr-defined]
        command_fn.__annotations__ = {p.name: p.annotation for p in params + extra}
        del command_fn.__wrapped__  # typer must see the new signature, not the wrapped one
        return command_fn  # type: ignore[return-value]

    return wrap
