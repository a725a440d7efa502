"""``transzero models``: the encoders available offline."""

from __future__ import annotations

import json

import typer
from rich.table import Table

from ._common import out


def models(as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the encoders available offline, their size and what they are."""
    from ..defaults import DEFAULT_ENCODERS, DEFAULT_METHODS
    from ..encoders import encoder_info, list_encoders, list_schemes

    infos = [encoder_info(n) for n in list_encoders()]
    defaults = set(DEFAULT_ENCODERS.values())
    if as_json:
        out.print_json(json.dumps({"encoders": infos, "schemes": list_schemes(), "defaults": DEFAULT_ENCODERS,
                                   "default_methods": DEFAULT_METHODS}))
        return
    t = Table(title="transzero encoders")
    for col in ("name", "modality", "available", "size (MB)", "description"):
        t.add_column(col)
    for i in infos:
        name = i["name"] + (" (default)" if i["name"] in defaults else "")
        t.add_row(name, i["modality"], "yes" if i["available"] else "no: pip install", str(i["size_mb"] or "-"), i["description"])
    out.print(t)
    out.print("Local models: " + ", ".join(f"{s}:<path>" for s in list_schemes())
              + " (hub:<repo id> is the only one that downloads).", highlight=False)
