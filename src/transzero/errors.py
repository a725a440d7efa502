"""User-facing errors.

Every mistake a user can make (bad input, unknown names, missing files) raises a
:class:`TranszeroError` whose message is one line naming the item and the fix. The
CLI prints that line and exits non-zero; it never shows a traceback for these.
"""

from __future__ import annotations


class TranszeroError(Exception):
    """Base class of every error caused by the user's input or configuration."""


class InputError(TranszeroError, ValueError):
    """An input item, file or column is unusable (empty text, bad encoding, ...)."""


class LabelError(TranszeroError, ValueError):
    """The label space is invalid (duplicate or empty labels, unparsable labels file)."""


class EncoderNotFoundError(TranszeroError, KeyError):
    """An encoder name is not registered and is not a valid ``scheme:path``."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ModelUnavailableError(TranszeroError, RuntimeError):
    """An encoder is known but its weights or package are not installed here."""


class SavedModelError(TranszeroError, ValueError):
    """A saved classifier directory is missing files or has an unsupported format."""


class JobInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a job; the message says what was kept and how to resume (``interrupted: 2/8 shards done;
    rerun the same command to resume``). The newest one is :attr:`last` (the CLI prints it: its command-line
    library turns Ctrl-C into exit status 130 and drops the exception)."""

    last: JobInterrupted | None = None

    def __init__(self, message: str) -> None:
        super().__init__(message)
        type(self).last = self


class TranszeroWarning(UserWarning):
    """Base class of transzero's warnings: something went wrong that did not stop the job."""


class CacheWarning(TranszeroWarning):
    """The embedding cache could not be used as asked (the job went on; results are unchanged)."""
