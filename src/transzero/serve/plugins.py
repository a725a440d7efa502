"""``transzero serve --plugin MODULE``: the operator's own modules, imported before the app is built (they register
encoders, methods or formats with transzero's registries; each Ray Serve replica imports them too)."""

from __future__ import annotations

from ..errors import InputError

__all__ = ["import_plugins"]


def import_plugins(modules: list[str]) -> None:
    """Import the ``--plugin`` modules (they register encoders, methods or formats with transzero's registries);
    a module that does not import is a one-line error."""
    import importlib

    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as exc:  # (any failure of the user's module is theirs to fix: name it, no traceback)
            raise InputError(f"--plugin {name}: cannot import it ({type(exc).__name__}: {exc}); it must be importable "
                             "by the server's Python (on a Ray cluster: on every node)") from None
