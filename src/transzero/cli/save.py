"""``transzero save``: a configured classifier (labels embedded once) written to a folder."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from ..errors import InputError
from ._common import BackendOpt, EncoderOpt, LabelsFileOpt, LabelsOpt, MethodOpt, TemplatesOpt, labels_spec, model_spec, out


def save(
    directory: Path = typer.Argument(..., help="Folder to write (JSON + .npy)."),
    labels: Optional[str] = LabelsOpt,
    labels_file: Optional[Path] = LabelsFileOpt,
    encoder: Optional[str] = EncoderOpt,
    backend: Optional[str] = BackendOpt,
    method: Optional[str] = MethodOpt,
    templates: Optional[list[str]] = TemplatesOpt,
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a classifier already saved in DIRECTORY."),
) -> None:
    """Save a configured classifier (labels embedded once) for `--model DIR` or load_classifier()."""
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise InputError(f"{directory} already exists and is not empty; pass --overwrite to replace a saved classifier")
    from ..pipeline.stages import FitStage, build_label_space

    enc = None
    if encoder is not None:  # any encoder: the classifier is for the items it encodes (images, audio, text)
        from ..encoders import create_encoder

        enc = create_encoder(encoder, **({"backend": backend} if backend else {}))
    clf = FitStage().build(model_spec(encoder, backend, method), build_label_space(labels_spec(labels, labels_file, templates)),
                           None, enc.modality if enc is not None else "text", encoder=enc)
    path = clf.save(directory)
    out.print(f"saved {len(clf.classes_)} classes, {clf.encoder_.name} + {clf.method_name} -> {path}", highlight=False)

