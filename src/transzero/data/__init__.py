"""Loaders: files -> items (+ gold labels), reporting bad rows instead of dropping them."""

from __future__ import annotations

from .readers import detect_modality, has_column, read_items
from .text import ItemTable, TextTable, read_text_table

__all__ = ["ItemTable", "TextTable", "detect_modality", "has_column", "read_items", "read_text_table"]
