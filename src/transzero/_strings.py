"""Plain-text helpers with no heavy imports (the CLI's start-up path uses them); ``transzero._util`` re-exports them."""

from __future__ import annotations

import hashlib

__all__ = ["item_error", "row_line", "safe_text", "sha256_text"]


def item_error(message: str) -> str:
    """``"items[3]: text is empty"`` -> ``"text is empty"``: the caller names the row itself.

    The Python API names items by their 0-based position in the list (``items[3]``); the CLI names
    rows of a file, counted from 1 (``row 4``).
    """
    return message.split(": ", 1)[1] if message.startswith("items[") and "]: " in message else message


def safe_text(text: str) -> str:
    """``text`` with lone surrogates (bytes a file could not decode, kept by ``surrogateescape``) shown as U+FFFD,
    so it can be written as UTF-8 and printed."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        escapes_only = all(not 0xD800 <= ord(c) <= 0xDFFF or 0xDC80 <= ord(c) <= 0xDCFF for c in text)
        raw = text.encode("utf-8", "surrogateescape" if escapes_only else "replace")
        return raw.decode("utf-8", "replace")


def row_line(source: str, row: int, message: str) -> str:
    """The one line that reports a bad row everywhere: ``"<source>: row <row>: <message>"``."""
    return f"{source}: row {row}: {message}"


def sha256_text(text: str) -> str:
    """Hex SHA-256 of a UTF-8 string."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
