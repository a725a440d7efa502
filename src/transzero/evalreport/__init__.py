"""Self-contained HTML evaluation reports: ``transzero eval DATA --report report.html`` and ``transzero report``.

One file, inline CSS/JS/SVG, nothing from the network, opens from disk. :func:`build_report` turns an eval's
metrics (its ``--json``) and its prediction records (with gold labels) into the page; :func:`write_report` writes it
atomically; :func:`read_predictions` reads a predictions file back (``.jsonl``/``.json``/``.csv``/``.tsv``).
"""

from __future__ import annotations

from .content import ReportContent, report_content
from .page import build_report, write_report
from .records import read_predictions

__all__ = ["ReportContent", "build_report", "read_predictions", "report_content", "write_report"]
