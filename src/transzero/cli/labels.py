"""``transzero labels expand``: show (and write, to edit) the text that describes each class."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import typer

from ..errors import InputError, LabelError
from ._common import (
    CacheDirOpt,
    EncoderOpt,
    LabelsFileOpt,
    LabelsOpt,
    NoCacheOpt,
    OverwriteOpt,
    TemplatesOpt,
    TextColOpt,
    labels_spec,
    out,
)

labels_app = typer.Typer(no_args_is_help=True, help="Look at and enrich the text that describes the classes.")


@labels_app.command("expand")
def expand(
    labels: Optional[str] = LabelsOpt,
    labels_file: Optional[Path] = LabelsFileOpt,
    templates: Optional[list[str]] = TemplatesOpt,
    wordnet: bool = typer.Option(False, "--wordnet", help="Add WordNet synonyms, the gloss and hyponyms of each name "
                                 "(needs wordnet-base)."),
    items: Optional[Path] = typer.Option(None, "--items", help="Unlabelled texts (TXT/CSV/TSV/JSONL): add the words of "
                                         "this corpus that sit closest to each class and separate it from the others."),
    text_column: str = TextColOpt,
    per_class: int = typer.Option(10, "--per-class", min=1, max=100, help="Corpus words kept per class (--items)."),
    encoder: Optional[str] = EncoderOpt,
    cache_dir: Optional[Path] = CacheDirOpt,
    no_cache: bool = NoCacheOpt,
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the labels file here (YAML) to edit and "
                                          "pass back with --labels-file; default: print it."),
    overwrite: bool = OverwriteOpt,
) -> None:
    """Print every prompt the classes are embedded from, optionally enriched by WordNet or a corpus, as a labels
    file you can edit and pass back with ``--labels-file``."""
    from ..pipeline.stages import build_label_space

    space = build_label_space(labels_spec(labels, labels_file, templates))
    if space is None:
        raise LabelError("name the classes: --labels a,b,c or --labels-file FILE")
    if output is not None:
        if output.suffix.lower() not in (".yaml", ".yml"):
            raise InputError(f"--output {output.name}: write the labels file as .yaml (or .yml)")
        if output.exists() and not overwrite:
            raise InputError(f"--output {output} already exists; pass --overwrite to replace it, or choose another name")
    added: dict[str, list[str]] = {n: [] for n in space.names}
    notes: dict[str, list[str]] = {n: [] for n in space.names}
    if wordnet:
        from ..enrich import wordnet_expansions

        for n in space.names:
            e = wordnet_expansions(n)
            if e["sense"] is None:
                notes[n].append("WordNet: no entry")
                continue
            notes[n].append(f"WordNet sense {e['sense']}")
            added[n] += e["synonyms"] + ([e["gloss"]] if e["gloss"] else []) + e["hyponyms"]
    if items is not None:
        words = _corpus_words(space, items, text_column, per_class, encoder, cache_dir, no_cache)
        for n, ws in zip(space.names, words):
            notes[n].append(f"{len(ws)} words from {items.name}")
            added[n] += ws
    text = _render(space, added, notes)
    if output is None:
        out.print(text, end="", highlight=False, markup=False, soft_wrap=True)
        return
    from ..io import atomic_path

    with atomic_path(output) as tmp:
        tmp.write_text(text, encoding="utf-8")
    n_added = sum(len(v) for v in added.values())
    out.print(f"wrote {len(space.names)} classes ({n_added} added descriptions) -> {output}; edit it and pass "
              "--labels-file", highlight=False)


def _corpus_words(space: Any, items: Path, text_column: str, per_class: int, encoder: str | None,
                  cache_dir: Path | None, no_cache: bool) -> list[list[str]]:
    from ..data.readers import read_items
    from ..enrich import corpus_words
    from ..store import EmbeddingCache

    table = read_items(items, text_column=text_column)
    if table.modality != "text":
        raise InputError(f"--items {items.name}: corpus words come from texts; this is {table.modality}")
    texts = [str(table.texts[i]) for i in table.good]
    try:
        return corpus_words(space, texts, encoder=encoder, cache=None if no_cache else EmbeddingCache(cache_dir),
                            per_class=per_class)
    except InputError as exc:
        raise InputError(f"--items {items.name}: {exc}") from None


def _render(space: Any, added: dict[str, list[str]], notes: dict[str, list[str]]) -> str:
    """The labels file: templates, then per class its descriptions, every prompt shown in a comment."""
    import yaml

    def q(s: str) -> str:
        return yaml.safe_dump(s, default_style='"', allow_unicode=True, width=10_000).strip()

    lines = ["# transzero labels file: edit the descriptions, then pass it with --labels-file",
             "# each class is embedded from its name in every template, plus its descriptions", "templates:"]
    lines += [f"  - {q(t)}" for t in space.templates]
    lines += [f"use_names: {'true' if space.use_names else 'false'}", "labels:"]
    for n in space.names:
        desc = list(dict.fromkeys(space.descriptions.get(n, []) + added[n]))
        for note in notes[n]:
            lines.append(f"  # {note}")
        lines.append(f"  # prompts: {' | '.join(space.prompts_for(n)[:4])}{' | ...' if len(space.prompts_for(n)) > 4 else ''}")
        if desc:
            lines.append(f"  {q(n)}:")
            lines += [f"    - {q(d)}" for d in desc]
        else:
            lines.append(f"  {q(n)}: null")
    return "\n".join(lines) + "\n"
