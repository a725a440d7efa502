"""Loaders: files -> items (+ gold labels), reporting bad rows instead of dropping them."""

from __future__ import annotations

from .text import TextTable, read_text_table

__all__ = ["TextTable", "read_text_table"]
