"""The stages of a job: read -> encode (cached) -> fit / score -> adapt -> decide -> write.

Each stage is a small object with a public method over a batch of items. It records its
seconds in the job's :class:`~transzero.pipeline.report.Timings` and reports bad items the same
way (table positions -> one-line reasons, shown as ``"<source>: row <row>: <why>"``). Stages that
map over items (read, encode, score, decide, write) work on any slice of a job's rows, so an
engine can run them per shard; fitting and transduction need all items and say so.

:class:`ClassifyPipeline` chains encode -> score -> adapt -> decide for a fitted classifier: the
CLI's ``classify`` and ``eval``, the service and the batch engines all predict through it.
"""

from __future__ import annotations

import os
from collections.abc import Container, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..data.text import ItemTable
from ..encoded import Encoded
from ..errors import InputError, JobInterrupted, LabelError
from ..explanations import explanation_sources  # noqa: F401  (re-exported: front ends import it from here)
from ..predictions import Predictions, Scores
from .report import ProgressFn, Reporter, Timings
from .spec import AdaptSpec, DecideSpec, InputSpec, LabelsSpec, ModelSpec, OutputSpec

if TYPE_CHECKING:  # pragma: no cover
    from ..classifier import ZeroShotClassifier
    from ..decisions import Decisions
    from ..encoders.base import Encoder
    from ..labels import LabelSpace
    from ..store import EmbeddingCache

__all__ = [
    "AdaptStage", "CachedEncoder", "ClassifyPipeline", "DecideStage", "EncodeStage", "Encoded", "FitStage", "Predictions", "ReadStage",
    "ScoreStage", "Stage", "VectorSource", "WriteStage", "build_label_space", "check_adapt_supported", "make_cache",
    "make_encoder",
    "resolve_templates",
]


# ---------------------------------------------------------------------- building blocks
def resolve_templates(templates: Sequence[str] | None) -> list[str] | None:
    """``--templates`` values: one set name or template, or several templates; None when not given."""
    from ..templates import resolve_templates as resolve

    if not templates:
        return None
    return list(resolve(templates[0] if len(templates) == 1 else list(templates)))


def build_label_space(spec: LabelsSpec, gold: Sequence[str] | None = None) -> LabelSpace | None:
    """The label space of ``--labels`` / ``--labels-file`` (+ templates); with neither, the ``gold`` label
    names of the data (+ templates) when given, else None."""
    from ..labels import LabelSpace

    if spec.names is not None and spec.file is not None:
        raise LabelError("give either --labels or --labels-file, not both")
    tmpl = resolve_templates(spec.templates)
    if spec.file is not None:
        return LabelSpace.from_file(spec.file, templates=tmpl)
    if spec.names is not None:
        return LabelSpace(list(spec.names), templates=tmpl)
    if gold:
        return LabelSpace(list(gold), templates=tmpl)
    return None


def make_cache(enabled: bool, folder: Path | None, reporter: Reporter) -> EmbeddingCache | None:
    """The job's embedding cache (its warnings go to the reporter), or None."""
    from ..store import EmbeddingCache

    return EmbeddingCache(folder, warn=reporter.warning) if enabled else None


def make_encoder(modality: str, name: str | None, backend: str | None) -> Encoder:
    """``name`` (or the modality's default encoder) with ``backend``; refused when it encodes another modality."""
    from ..defaults import default_encoder
    from ..encoders import create_encoder

    enc = create_encoder(name or default_encoder(modality), **({"backend": backend} if backend else {}))
    if enc.modality != modality:
        raise InputError(
            f"the input holds {modality} items but encoder {enc.name} encodes {enc.modality}; "
            f"pass --encoder {default_encoder(modality)} (see `transzero models`)"
        )
    return enc


def route_text(model: ModelSpec, items: Sequence[Any] | None) -> tuple[str, dict[str, Any]]:
    """The text encoder of ``model.preset`` for the language of ``items`` (or ``model.language``), and the
    decision as the job's JSON reports it: ``{"preset", "encoder", "language": {...}, "why"}``."""
    from ..defaults import text_encoder_for
    from ..language import detect_language
    from ..presets import check_preset

    preset = check_preset(model.preset)
    if model.language is not None:
        lang = str(model.language).strip().lower()
        if not lang or not lang.replace("-", "").isalpha() or len(lang) > 12:
            raise InputError(f"--language must be a language code such as en, de or zh (or mul), not {model.language!r}")
        name = text_encoder_for(preset, lang)
        return name, {"preset": preset, "encoder": name, "language": {"language": lang, "route": lang,
                                                                        "detected": False}, "why": ""}
    report = detect_language(list(items) if items is not None else [])
    name = text_encoder_for(preset, report.route)
    return name, {"preset": preset, "encoder": name, "language": {**report.to_dict(), "detected": True},
                  "why": report.why if report.multilingual else ""}


class Stage:
    """Base of the stages: the job's timings and reporter."""

    def __init__(self, timings: Timings | None = None, reporter: Reporter | None = None) -> None:
        self.timings = timings if timings is not None else Timings()
        self.reporter = reporter if reporter is not None else Reporter()


# ---------------------------------------------------------------------- read
class ReadStage(Stage):
    """Read an input (any modality) into an :class:`~transzero.data.ItemTable`; bad rows stay, with their reason."""

    def run(self, spec: InputSpec) -> ItemTable:
        from ..data.readers import read_items

        with self.timings.stage("read"):
            return read_items(spec.path, text_column=spec.text_column, label_column=spec.label_column,
                              audio_column=spec.audio_column)

    def same_kind(self, table: ItemTable, other: ItemTable, flag: str, what: str = "the input") -> None:
        """A one-line error when ``other`` (read for ``flag``) holds another modality than ``table``."""
        if other.modality != table.modality:
            raise InputError(f"{flag} holds {other.modality} items but {what} holds {table.modality} items; "
                             "give the same kind")


# ---------------------------------------------------------------------- encode
class VectorSource(Protocol):
    """Anything that encodes items with bad ones reported: a :class:`ZeroShotClassifier`, a :class:`CachedEncoder`."""

    def encode_report(self, items: Sequence[Any], progress: ProgressFn | None = None) -> tuple[np.ndarray, dict[int, str]]:
        ...


@dataclass
class CachedEncoder:
    """An encoder and its cache as a vector source (jobs that need vectors without a classifier)."""

    encoder: Encoder
    cache: EmbeddingCache | None = None
    batch_size: int | None = None

    def encode_report(self, items: Sequence[Any], progress: ProgressFn | None = None) -> tuple[np.ndarray, dict[int, str]]:
        from ..store import encode_items

        return encode_items(self.encoder, self.cache, list(items), batch_size=self.batch_size, progress=progress)


class EncodeStage(Stage):
    """Encode a table's good rows (or the given positions) through the cache; bad items are reported."""

    def run(self, source: VectorSource, table: ItemTable, positions: Sequence[int] | None = None,
            what: str = "encode") -> Encoded:
        pos = list(table.good if positions is None else positions)
        items = [table.texts[i] for i in pos]
        done = [0]
        try:
            with self.reporter.progress(what, len(pos)) as advance, self.timings.stage("encode"):
                def counted(n: int) -> None:
                    done[0] += n
                    if advance is not None:
                        advance(n)

                X, errs = source.encode_report(items, progress=counted)
        except KeyboardInterrupt as exc:
            if isinstance(exc, JobInterrupted):
                raise
            raise JobInterrupted(_interrupted_encoding(source, done[0], len(pos))) from None
        return Encoded.from_report(X, errs, pos)


def _interrupted_encoding(source: Any, done: int, total: int) -> str:
    """What Ctrl-C during encoding leaves: the items encoded so far sit in the embedding cache (when there is one)."""
    cache = getattr(source, "cache", None) if isinstance(source, CachedEncoder) else getattr(source, "cache_", None)
    if cache:
        return (f"interrupted: {done}/{total} items encoded and kept in the embedding cache; rerun the same command "
                "to resume (they are not encoded again)")
    return f"interrupted after {done}/{total} items (no embedding cache: a rerun encodes them again)"


# ---------------------------------------------------------------------- fit
class FitStage(Stage):
    """Build the classifier: a saved one, or labels + encoder + method fitted zero-shot; :meth:`fit` fits it on examples."""

    def build(self, model: ModelSpec, labels: LabelSpace | None, cache: EmbeddingCache | None,
              modality: str, encoder: Encoder | None = None, items: Sequence[Any] | None = None) -> ZeroShotClassifier:
        """The job's classifier; ``encoder`` is an encoder object to use instead of creating ``model.encoder``
        (a service shares one loaded model between many classifiers). Text without a named encoder gets the
        preset's encoder for the language of ``items`` (:func:`route_text`); what was decided is in the
        classifier's ``routing_``."""
        from ..classifier import ZeroShotClassifier
        from ..defaults import default_method

        if model.saved is not None:
            if labels is not None or model.method or model.backend:
                raise InputError("--model already fixes labels, encoder and method; drop --labels/--method/--backend "
                                 "(--encoder names where its encoder is, when the saved folder cannot)")
            with self.timings.stage("load"):
                clf = ZeroShotClassifier.load(model.saved, encoder=model.encoder, cache=cache or False,
                                              allow_download=model.allow_download)
            if model.batch_size:
                clf.batch_size = model.batch_size
            return clf
        if labels is None:
            raise LabelError('no classes given; pass --labels "a,b,c" or --labels-file FILE')
        if encoder is not None and encoder.modality != modality:
            raise InputError(f"the items are {modality} but encoder {encoder.name} encodes {encoder.modality}")
        routing: dict[str, Any] | None = None
        name = model.encoder
        if encoder is None and name is None and modality == "text":
            name, routing = route_text(model, items)
            if routing.get("why"):
                self.reporter.note(f"encoder {name}: {routing['why']}")
        elif model.preset is not None or model.language is not None:
            if model.encoder is not None or encoder is not None:
                raise InputError("--preset/--language choose the text encoder; drop them or --encoder")
            raise InputError(f"--preset/--language choose a text encoder; the items are {modality}")
        enc = encoder if encoder is not None else make_encoder(modality, name, model.backend)
        method = model.method or default_method(modality)
        params = dict(model.method_params)
        if model.index != "auto":
            from ..methods.registry import method_class
            from ..methods.tags import get_tags

            if get_tags(method_class(method)).nn_index:
                params.setdefault("index", model.index)
        language = routing["language"]["route"] if routing and modality == "text" else None
        clf = ZeroShotClassifier(labels, encoder=enc, method=method, method_params=params, cache=cache or False,
                                 batch_size=model.batch_size, language=language)
        with self.timings.stage("fit"):
            clf.fit_encoded(label_progress=self.reporter.progress)  # zero-shot: the classes embedded, method set up
        clf.routing_ = routing
        return clf

    def fit(self, clf: ZeroShotClassifier, X: np.ndarray | None = None, y: Sequence[Any] | None = None) -> ZeroShotClassifier:
        """Fit the method on encoded examples (none: zero-shot)."""
        with self.timings.stage("fit"):
            return clf.fit_encoded(X, y)


# ---------------------------------------------------------------------- score
class ScoreStage(Stage):
    """Logits and probabilities of encoded items (calibrated when the classifier is)."""

    def run(self, clf: ZeroShotClassifier, X: np.ndarray) -> Scores:
        with self.timings.stage("score"):
            return clf.head_.score(X)


# ---------------------------------------------------------------------- adapt
class AdaptStage(Stage):
    """Calibration on labelled examples; transduction over all the items (it needs them all)."""

    def calibrate(self, clf: ZeroShotClassifier, X: np.ndarray, y: Sequence[str]) -> np.ndarray:
        """Fit the classifier's temperature and biases; the calibration examples' rejection scores afterwards."""
        from ..decisions import rejection_scores

        with self.timings.stage("adapt"):
            clf.head_.calibrate(X, y)
            return rejection_scores(clf.head_.score(X).proba)

    def transduce(self, clf: ZeroShotClassifier, spec: AdaptSpec, X: np.ndarray, logits: np.ndarray,
                  unlabeled: np.ndarray | None = None, *, paired: bool = False) -> tuple[np.ndarray, dict[str, Any]]:
        """Probabilities of ``X`` adapted to the items (plus ``unlabeled`` vectors), and what ran. ``paired``: ``X``
        comes from another encoder than the method's scores (speech), so the graph must first agree with them
        (:data:`~transzero.transductive.PAIRED_MIN_AGREEMENT`)."""
        with self.timings.stage("adapt"):
            return clf.head_.adapt(self.transduction(clf, spec), X, logits, unlabeled, paired=paired)

    @staticmethod
    def transduction(clf: ZeroShotClassifier, spec: AdaptSpec) -> Any:
        """The :class:`~transzero.transductive.Transduction` of ``spec`` (``--transduction-steps``, else the
        default recipe of the classifier's modality)."""
        from ..transductive import Transduction, default_transduction

        return (Transduction(steps=tuple(spec.steps), index=spec.index) if spec.steps
                else default_transduction(clf.encoder_.modality, index=spec.index))


def check_adapt_supported(clf: ZeroShotClassifier, adapt: AdaptSpec, *, sharded: bool = False) -> None:
    """Refuse, before anything is encoded or decoded, adaptation a method cannot take.

    A method that reads raw items (``asr-grammar``, ``asr-text``: clips; ``ocr``: images) transduces over the vectors
    of its own encoder (``--encoder``, by default the modality's default encoder) for the same items; extra
    ``--unlabeled`` items and sharded outputs are not paired yet.
    """
    if not (adapt.transduce and clf.method_tags.raw_items):
        return
    if adapt.unlabeled is not None:
        raise InputError(f"method {clf.method_name!r} reads raw items: --unlabeled is not supported with it (yet); "
                         "put the extra items into the input, or use a vector method")
    if sharded:
        raise InputError(f"method {clf.method_name!r} reads raw items: sharded --transductive output is not supported "
                         "with it (yet); write a single output file")


# ---------------------------------------------------------------------- decide
class DecideStage(Stage):
    """Labels from probabilities: argmax, "none of these" below a threshold, multi-label sets."""

    def threshold(self, spec: DecideSpec, proba: np.ndarray,
                  calibration_scores: np.ndarray | None = None) -> tuple[float | None, str | None]:
        """The rejection threshold (None without ``reject``) and where it came from."""
        from ..decisions import check_threshold, rejection_scores, threshold_for_frr

        if spec.reject is None:
            return None, None
        if str(spec.reject).strip().lower() == "auto":
            if calibration_scores is not None:
                return threshold_for_frr(np.asarray(calibration_scores), spec.target_frr), "calibration examples"
            return threshold_for_frr(rejection_scores(proba), spec.target_frr), "the items' own scores"
        return check_threshold(spec.reject), "given"

    def run(self, clf: ZeroShotClassifier, proba: np.ndarray, logits: np.ndarray, spec: DecideSpec,
            threshold: float | None = None) -> Decisions:
        from ..decisions import decide

        with self.timings.stage("decide"):
            return decide(proba, [str(c) for c in clf.classes_], logits=logits, reject=threshold,
                          none_label=spec.none_label, multi_label=spec.multi_label)


# ---------------------------------------------------------------------- write
class WriteStage(Stage):
    """Check outputs before any work; write them atomically at the end."""

    def check(self, output: OutputSpec, inputs: Sequence[Path | None] = (), flag: str = "--output",
              suffixes: Sequence[str] | None = None) -> None:
        """Refuse bad prediction outputs (suffix, folder, an input file, an existing file) and missing folders;
        ``flag`` names the predictions option in the errors, ``suffixes`` the file types it may have (those of
        predictions by default)."""
        from ..io import OUTPUT_SUFFIXES, check_output, check_writable_folder

        srcs = [p for p in inputs if p is not None]
        check_output(output.predictions, inputs=srcs, overwrite=output.overwrite, flag=flag,
                     suffixes=suffixes or OUTPUT_SUFFIXES)
        for path, flag in ((output.json, "--json"), (output.plot, "--plot"), (output.reliability, "--reliability"),
                           (output.report, "--report")):
            if path is not None:
                check_writable_folder(path, flag)
                if any(_same_file(path, s) for s in srcs):
                    raise InputError(f"{flag} {path} is an input file; write it to another file")
        if output.report is not None and Path(output.report).suffix.lower() not in (".html", ".htm"):
            raise InputError(f"--report {output.report}: a report is an HTML file; name it report.html")

    def predictions(self, records: list[dict[str, Any]], classes: list[str], path: Path | None) -> None:
        from ..io import write_predictions

        with self.timings.stage("write"):
            write_predictions(records, classes, path)

    def report(self, metrics: dict[str, Any], records: list[dict[str, Any]] | None, path: Path) -> None:
        """The self-contained HTML report (:mod:`transzero.evalreport`), atomically."""
        from ..evalreport import write_report

        with self.timings.stage("write"):
            write_report(path, metrics, records)

    def json(self, obj: Any, path: Path | None) -> None:
        from ..io import write_json

        if path is not None:
            with self.timings.stage("write"):
                write_json(path, obj)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return Path(a).resolve() == Path(b).resolve() or (Path(a).exists() and os.path.samefile(a, b))
    except OSError:
        return False


# ---------------------------------------------------------------------- the classify pipeline
class ClassifyPipeline:
    """encode -> score -> adapt -> decide for a fitted classifier, over one table of items.

    Parameters
    ----------
    clf : ZeroShotClassifier
        Fitted (or loaded).
    adapt : AdaptSpec
        Transduction settings (calibration happens before, with :meth:`AdaptStage.calibrate`).
    decide : DecideSpec
        Rejection, multi-label and explanation settings.
    """

    def __init__(self, clf: ZeroShotClassifier, adapt: AdaptSpec | None = None, decide: DecideSpec | None = None,
                 timings: Timings | None = None, reporter: Reporter | None = None) -> None:
        self.clf = clf
        self.adapt = adapt or AdaptSpec()
        self.decide = decide or DecideSpec()
        self.timings = timings if timings is not None else Timings()
        self.reporter = reporter if reporter is not None else Reporter()
        if self.decide.explain and not clf.can_explain:
            raise InputError(f"method {clf.method_name!r} has no explanations here; use conse or wordnet")
        check_adapt_supported(clf, self.adapt)

    def stage(self, cls: type[Stage]) -> Any:
        return cls(self.timings, self.reporter)

    def paired_vectors(self, table: ItemTable, enc: Encoded) -> tuple[np.ndarray, dict[str, Any]]:
        """:meth:`ZeroShotClassifier.pair_for_transduction` of the rows a raw-item method scored."""
        with self.timings.stage("encode"):
            return self.clf.pair_for_transduction([table.texts[i] for i in enc.positions])

    def run(self, table: ItemTable, *, unlabeled: np.ndarray | None = None,
            calibration_scores: np.ndarray | None = None) -> Predictions:
        """Predict every good row of ``table``; ``unlabeled``: extra vectors to adapt on (transduction)."""
        enc = self.stage(EncodeStage).run(self.clf, table)
        return self.run_encoded(table, enc, unlabeled=unlabeled, calibration_scores=calibration_scores)

    def run_pooled(self, parts: Sequence[tuple[ItemTable, Encoded]], *, skip: Container[int] = ()
                   ) -> Iterator[tuple[int, Predictions | None]]:
        """The pooled step: transduction over several tables at once (a sharded job's shards).

        Every part's rows are scored and adapted together (one neighbour graph over the whole input), then each
        part is decided through :meth:`run_encoded` with its slice of the adapted probabilities. Yields
        ``(index, predictions)`` per part in order; parts in ``skip`` (already written) take part in the pool but
        yield None. Without transduction each part is simply :meth:`run_encoded`.
        """
        X = np.concatenate([e.X for _, e in parts]) if parts else np.zeros((0, 1), np.float32)
        adapted, info = None, None
        if self.adapt.transduce and len(X):
            scores = self.stage(ScoreStage).run(self.clf, X)
            adapted, info = self.stage(AdaptStage).transduce(self.clf, self.adapt, X, scores.logits)
            if info.get("fallback"):
                self.reporter.note(str(info["fallback"]))
        start = 0
        for i, (table, enc) in enumerate(parts):
            rows = slice(start, start + len(enc))
            start += len(enc)
            if i in skip:
                yield i, None
            elif adapted is None:
                yield i, self.run_encoded(table, enc)
            else:
                yield i, self.run_encoded(table, enc, adapted=adapted[rows], adaptation=info)

    def run_encoded(self, table: ItemTable, enc: Encoded, *, unlabeled: np.ndarray | None = None,
                    calibration_scores: np.ndarray | None = None, adapted: np.ndarray | None = None,
                    adaptation: dict[str, Any] | None = None) -> Predictions:
        """:meth:`run` for rows already encoded.

        ``adapted``: probabilities of these rows already adapted over a larger pool (a sharded job transduces
        over every shard at once), with ``adaptation`` saying what ran.
        """
        classes = [str(c) for c in self.clf.classes_]
        errors = {**table.errors, **enc.errors}
        if not len(enc):
            return Predictions.empty(classes, errors, table=table, X=enc.X)
        scores = None
        if enc.logits is not None:  # scored remotely (the Ray engine with a raw-item method)
            from .._util import softmax

            if self.decide.explain:
                raise InputError(f"--explain with method {self.clf.method_name!r} needs the clips here; run it with "
                                 "--engine local")
            scores = Scores(enc.logits, softmax(np.asarray(enc.logits, dtype=np.float64), axis=1))
        decide = self.stage(DecideStage)
        source: list[str | None] = [None]

        def threshold(p: np.ndarray) -> float | None:
            t, source[0] = decide.threshold(self.decide, p, calibration_scores)
            return t

        transduction = (AdaptStage.transduction(self.clf, self.adapt)
                        if self.adapt.transduce and adapted is None else None)
        r = self.clf.predict_encoded(
            enc.X, items=[table.texts[i] for i in enc.positions], scores=scores, transduction=transduction,
            unlabeled=unlabeled, adapted=adapted, adaptation=adaptation, reject=threshold,
            none_label=self.decide.none_label, multi_label=self.decide.multi_label,
            explain=int(self.decide.explain or 0), transcripts=True, stage=self.timings.stage, info=self.reporter.info)
        out = r.at(enc.positions, errors, table=table, X=enc.X)
        out.threshold_source = source[0]
        if enc.logits is not None:
            out.transcripts = enc.transcripts
        return out
