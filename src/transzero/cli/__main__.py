"""``python -m transzero.cli`` runs the CLI."""

from __future__ import annotations

from . import main

main()
