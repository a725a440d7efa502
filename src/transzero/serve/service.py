"""What the HTTP service does for inference, without HTTP: build or find classifiers, encode through the
micro-batchers, predict through the job pipeline's :class:`~transzero.pipeline.ClassifyPipeline`, embed.
The studio's stored classifiers (create, teach, delete) are :class:`~transzero.serve.studio.Studio`'s, which
encodes through this service.

Every request item arrives as content (text, or base64 / uploaded bytes for images and audio), never as a path,
and requests may name registered encoders only: no request makes the server read a file the client names.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._util import l2_normalize
from ..classifier import ZeroShotClassifier
from ..data.text import ItemTable
from ..defaults import default_encoder, default_method
from ..encoders.base import Encoder
from ..errors import InputError, LabelError, TranszeroError
from ..labels import ClassEmbeddings, LabelSpace
from ..encoded import EncodeTiming, Encoded
from ..pipeline import ClassifyPipeline, DecideSpec, FitStage, ModelSpec, Timings
from ..store import EmbeddingCache
from ..threads import limit_encoder_threads
from .batcher import MicroBatcher
from .store import ClassifierStore, check_name

__all__ = ["Conflict", "Media", "NotFound", "ServeSettings", "Service", "TooLarge"]


class NotFound(TranszeroError, KeyError):
    """An unknown classifier (HTTP 404)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Conflict(TranszeroError):
    """A request that would change a read-only classifier (HTTP 409)."""


class TooLarge(TranszeroError):
    """Too many items or labels in one request (HTTP 413)."""


class Media(NamedTuple):
    """A request's items: their modality, the items (bytes for media, ``None`` where decoding failed), the
    errors found while reading them (position -> message), and how to name each one in a message."""

    modality: str
    items: list[Any]
    errors: dict[int, str]
    names: list[str] | None = None


@dataclass
class ServeSettings:
    """``transzero serve``'s settings (see its ``--help``)."""

    host: str = "127.0.0.1"
    port: int = 8000
    models: dict[str, Path] = field(default_factory=dict)
    store: Path | None = None
    api_key: str | None = None
    cors: list[str] = field(default_factory=list)
    max_body_mb: float = 20.0
    max_items: int = 1024
    #: classes (and class descriptions) per request at most
    max_labels: int = 512
    cache_dir: Path | None = None
    no_cache: bool = False
    #: encoder per modality when a request names none (default: the library's defaults)
    encoders: dict[str, str] = field(default_factory=dict)
    #: text encoder choice when neither the request nor ``encoders`` names one (None: the library's default preset)
    preset: str | None = None
    max_batch: int = 128
    max_wait_ms: float = 50.0
    #: this server's name among several serving one store (``--engine ray`` sets each replica's); it is sent back
    #: as the ``X-Transzero-Replica`` header and labels ``/metrics``
    replica: str | None = None
    #: threads per encoder (None: every core; ``--engine ray`` sets each replica's CPU share)
    threads: int | None = None
    #: modules imported before the app is built (``--plugin``: they register the operator's own encoders/methods)
    plugins: list[str] = field(default_factory=list)


def decode_media(values: list[str], kind: str) -> tuple[list[bytes | None], dict[int, str]]:
    """Base64 strings (``data:`` URLs too) -> bytes; an undecodable one is that item's error."""
    out: list[bytes | None] = []
    errors: dict[int, str] = {}
    for i, v in enumerate(values):
        s = v.split(",", 1)[1] if v.startswith("data:") and "," in v else v
        try:
            b = base64.b64decode(s.strip(), validate=True)
        except (binascii.Error, ValueError):
            errors[i] = f"not valid base64; send the {kind} file's bytes base64-encoded"
            out.append(None)
            continue
        if not b:
            errors[i] = f"the {kind} is empty (0 bytes)"
            out.append(None)
            continue
        out.append(b)
    return out, errors


#: what a decoder calls an item it was handed as bytes or an array (``<bytes>``, ``<1234 bytes>``)
_ANONYMOUS = re.compile(r"^<[^<>:]{0,40}>: ")


def unnamed(message: str) -> str:
    """A decoder's message about one item without the item's anonymous name (``<bytes>: ``)."""
    return _ANONYMOUS.sub("", message, count=1)


def name_errors(errors: dict[int, str], names: list[str] | None) -> dict[int, str]:
    """Per-item messages with each item called by its name (an upload's file name, ``images[2]``) where the
    decoder only knew it as bytes."""
    if not names:
        return dict(errors)
    return {i: _ANONYMOUS.sub(f"{names[i]}: ", m, count=1) if 0 <= i < len(names) else m for i, m in errors.items()}


def label_space(labels: Any) -> LabelSpace:
    """A request's ``labels`` (names, or name -> description(s)) as a label space."""
    if isinstance(labels, dict):
        desc = {str(k): v for k, v in labels.items() if v not in (None, "", [])}
        return LabelSpace(list(labels), descriptions=desc or None)
    if isinstance(labels, list):
        return LabelSpace(labels)
    raise LabelError("labels must be a list of names or a mapping name -> description(s)")


class Service:
    """The service's state: encoders and their micro-batchers, classifiers built for requests (memoised), the saved
    ones (``--model``, read-only, and the store's, which :class:`~transzero.serve.studio.Studio` writes)."""

    #: vectors per encoder the embedding cache also keeps in memory
    MEMORY_VECTORS = 20_000

    def __init__(self, settings: ServeSettings, metrics: Any = None) -> None:
        from .store import default_store

        self.settings = settings
        self.metrics = metrics
        # the studio scores its whole pool after every label: recent vectors stay in memory too (~60 MB at 768 dims)
        self.cache = None if settings.no_cache else EmbeddingCache(settings.cache_dir, warn=self._warn,
                                                                   memory=self.MEMORY_VECTORS)
        self.store = ClassifierStore(settings.store or default_store(), self.cache)
        self._encoders: dict[str, Encoder] = {}
        self._batchers: dict[str, MicroBatcher] = {}
        self._built: OrderedDict[str, ZeroShotClassifier] = OrderedDict()
        self._lock = threading.RLock()
        self.warnings: list[str] = []
        self._closed = False
        self.pinned: dict[str, ZeroShotClassifier] = {}
        for name, folder in settings.models.items():
            check_name(name)
            self.pinned[name] = ZeroShotClassifier.load(folder, cache=self.cache or False)
        self._private = _private_paths(self.store.root, self.cache.root if self.cache else None, settings.models)

    def _warn(self, message: str) -> None:
        self.warnings.append(message)

    def health(self) -> list[str]:
        """What keeps this server from answering every route (empty when healthy): ``/healthz`` answers 503 with
        them, and a Ray Serve replica reports them to Ray, which replaces it."""
        import os

        problems = []
        if self._closed:
            problems.append("the service is shutting down")
        root = self.store.root
        if root.exists():
            if not root.is_dir():
                problems.append("the store STORE is a file, not a folder")
            elif not os.access(root, os.R_OK | os.W_OK | os.X_OK):
                problems.append("the store STORE cannot be read and written by this server")
        else:
            parent = next((p for p in root.parents if p.exists()), None)
            if parent is None or not os.access(parent, os.W_OK | os.X_OK):
                problems.append("the store STORE does not exist and cannot be created")
        return problems

    def redact(self, message: str) -> str:
        """``message`` with the server's own folders (store, cache, ``--model`` folders) replaced by their roles."""
        for path, role in self._private:
            message = message.replace(path, role)
        return message

    # ------------------------------------------------------------------ encoders
    def encoder(self, name: str | None, modality: str) -> Encoder:
        """A registered encoder by name (shared by every classifier that uses it); paths and hub names refused."""
        from ..encoders.registry import create_encoder, get_spec

        name = name or self.settings.encoders.get(modality) or default_encoder(modality)
        if ":" in name:
            raise InputError(f"encoder {name!r}: requests may name registered encoders only (GET /v1/models), not "
                             "paths or hub models; the server's operator can load others with --model")
        get_spec(name)  # unknown names: a one-line error listing the registered ones
        with self._lock:
            enc = self._encoders.get(name)
            if enc is None:
                enc = self._encoders[name] = create_encoder(name)
                limit_encoder_threads(enc, self.settings.threads)
        if enc.modality != modality:
            raise InputError(f"encoder {name!r} encodes {enc.modality}, but the request holds {modality} items")
        return enc

    def batcher(self, enc: Encoder) -> MicroBatcher:
        """The micro-batcher of ``enc`` (one per encoder fingerprint)."""
        key = enc.fingerprint
        with self._lock:
            b = self._batchers.get(key)
            if b is None:
                m = self.metrics
                b = self._batchers[key] = MicroBatcher(
                    enc, self.cache, max_batch=self.settings.max_batch, max_wait_ms=self.settings.max_wait_ms,
                    on_batch=(lambda n, s, name=enc.name: m.batch(name, n, s)) if m else None,
                    on_queue=(lambda d, name=enc.name: m.queue(name, d)) if m else None)
            return b

    async def on_encoder_thread(self, enc: Encoder, fn: Any, *args: Any) -> Any:
        """Run ``fn`` on ``enc``'s own thread: one model never loads or runs in two threads at once."""
        return await self.batcher(enc).run(fn, *args)

    async def encode(self, clf: ZeroShotClassifier, items: list[Any]) -> Encoded:
        """Vectors (or decoded clips, for speech recognisers) of ``items``, bad ones reported."""
        if clf.method_tags.raw_items:
            t0 = time.perf_counter()
            X, errors = await self.on_encoder_thread(clf.encoder_, clf.encode_report, items)
            return Encoded.from_report(X, errors, timing=EncodeTiming(0.0, time.perf_counter() - t0, len(items)))
        return await self.batcher(clf.encoder_).encode(items)

    async def embed_labels(self, enc: Encoder, space: LabelSpace, modality: str) -> None:
        """Embed ``space``'s prompts through ``enc``'s micro-batcher a batch at a time (so a big label set shares
        the encoder with other requests instead of holding it), into the embedding cache - or, without one,
        straight into the label space. Only where ``enc`` embeds the labels itself (text); the build that follows
        then finds every prompt embedded."""
        if modality != "text" or enc.modality != "text" or space.semantic_kind != "text":
            return
        prompts, owners = space.all_prompts()
        res = await self.batcher(enc).encode_chunked(prompts)
        if self.cache is None and not res.errors:  # what LabelSpace.embed computes from the same vectors
            vecs = l2_normalize(res.X)
            centroids = np.stack([vecs[owners == k].mean(axis=0) for k in range(len(space.names))])
            space.set_embedding(enc.fingerprint, ClassEmbeddings(list(space.names), enc.normalize_vectors(centroids),
                                                                 vecs, owners, prompts))

    async def build(self, enc: Encoder, method: str, space: LabelSpace, modality: str) -> ZeroShotClassifier:
        """A zero-shot classifier over ``space`` (its labels embedded fairly first, see :meth:`embed_labels`)."""
        await self.embed_labels(enc, space, modality)
        return await self.on_encoder_thread(enc, FitStage().build, ModelSpec(method=method), space, self.cache,
                                            modality, enc)

    # ------------------------------------------------------------------ classifiers
    def check_size(self, n: int) -> None:
        """At most ``--max-items`` items in one request."""
        if n > self.settings.max_items:
            raise TooLarge(f"{n} items in one request; the limit is {self.settings.max_items} (--max-items)")

    def check_labels(self, labels: Any) -> None:
        """At most ``--max-labels`` classes, and as many class descriptions."""
        limit = self.settings.max_labels
        n = len(labels) if isinstance(labels, (list, dict)) else 0
        if n > limit:
            raise TooLarge(f"{n} labels in one request; the limit is {limit} (--max-labels)")
        if isinstance(labels, dict):
            texts = sum(len(v) if isinstance(v, list) else 1 for v in labels.values() if v not in (None, "", []))
            if texts > limit:
                raise TooLarge(f"{texts} label descriptions in one request; the limit is {limit} (--max-labels)")

    async def classifier(self, *, labels: Any = None, encoder: str | None = None, method: str | None = None,
                         classifier: str | None = None, modality: str = "text") -> ZeroShotClassifier:
        """A saved classifier by name, or one built (zero-shot) for these labels, encoder and method (memoised)."""
        if classifier is not None:
            if labels is not None or encoder or method:
                raise InputError("`classifier` already fixes labels, encoder and method; drop them")
            clf = await self.saved(classifier)
            if clf.encoder_.modality != modality:
                raise InputError(f"classifier {classifier!r} classifies {clf.encoder_.modality} items, not {modality}")
            return clf
        if labels is None:
            raise InputError("give `labels` (class names) or `classifier` (a saved classifier)")
        self.check_labels(labels)
        enc = self.encoder(encoder, modality)
        space = label_space(labels)
        method = method or default_method(modality)
        key = json.dumps([space.to_dict(), enc.fingerprint, method], sort_keys=True, default=str)
        with self._lock:
            hit = self._built.get(key)
            if hit is not None:
                self._built.move_to_end(key)
                return hit
        clf = await self.build(enc, method, space, modality)
        with self._lock:
            self._built[key] = clf
            while len(self._built) > 32:
                self._built.popitem(last=False)
        return clf

    async def saved(self, name: str) -> ZeroShotClassifier:
        check_name(name)
        if name in self.pinned:
            return self.pinned[name]
        try:
            clf, _ = await asyncio.to_thread(self.store.get, name)
        except KeyError:
            raise NotFound(f"no classifier named {name!r}; see GET /v1/classifiers") from None
        return clf

    # ------------------------------------------------------------------ classify and embed
    def route(self, body: Any, modality: str, items: list[Any]) -> tuple[str | None, dict[str, Any]]:
        """The request's encoder: the one it names, else for texts the preset's encoder for their language
        (:func:`transzero.pipeline.stages.route_text`, as the CLI's jobs), unless the operator fixed one with
        ``--encoder``."""
        from ..pipeline.stages import route_text

        preset, language = getattr(body, "preset", None), getattr(body, "language", None)
        if body.encoder or body.classifier:
            if preset or language:
                raise InputError("`preset`/`language` choose the text encoder; drop them or `encoder`/`classifier`")
            return body.encoder, {}
        if modality != "text":
            if preset or language:
                raise InputError(f"`preset`/`language` choose a text encoder; the request holds {modality} items")
            return None, {}
        if self.settings.encoders.get("text") and not (preset or language):
            return None, {}
        name, routing = route_text(ModelSpec(preset=preset or self.settings.preset, language=language), items)
        return name, {"preset": routing["preset"], "language": routing["language"]["route"]}

    async def classify(self, body: Any, media: Media) -> dict[str, Any]:
        """``POST /v1/classify``: predictions for every item (bad items get an ``error`` and ``label: null``)."""
        modality, items, pre_errors, names = media
        self.check_size(len(items))
        t0 = time.perf_counter()
        encoder, routing = self.route(body, modality, items)
        clf = await self.classifier(labels=body.labels, encoder=encoder, method=body.method,
                                    classifier=body.classifier, modality=modality)
        good = [i for i in range(len(items)) if i not in pre_errors]
        res = await self.encode(clf, [items[i] for i in good])
        explain = 5 if body.explain is True else int(body.explain or 0)
        decide = DecideSpec(reject=None if body.reject is None else str(body.reject), multi_label=body.multi_label,
                            explain=explain)
        table = ItemTable.from_items([items[i] if i not in pre_errors else None for i in range(len(items))],
                                     source="request", modality=modality)
        table.errors.update(pre_errors)
        encoded = res.relabel(good)
        encoded.errors = name_errors(encoded.errors, names)
        timings = Timings()
        preds = await asyncio.to_thread(ClassifyPipeline(clf, decide=decide, timings=timings).run_encoded, table, encoded)
        out = []
        by_pos = {i: j for j, i in enumerate(preds.positions)}
        for i in range(len(items)):
            j = by_pos.get(i)
            if j is None:
                out.append({"label": None, "scores": None, "error": preds.errors.get(i, "could not be classified")})
                continue
            p = preds.proba[j]
            order = np.argsort(-p)[: body.top_k] if body.top_k else range(len(p))
            rec: dict[str, Any] = {"label": preds.labels[j], "scores": {preds.classes[k]: round(float(p[k]), 6) for k in order},
                                   "error": None}
            if preds.explanations is not None:
                from ..pipeline.stages import explanation_sources

                rec["explanation"] = explanation_sources(preds.explanations[j])
            if preds.multi_labels is not None:
                rec["labels"] = preds.multi_labels[j]
            if preds.transcripts is not None:
                rec["transcript"] = preds.transcripts[j]
            out.append(rec)
        t = timings.as_dict()
        timing = res.timing or EncodeTiming()
        return {"predictions": out, "encoder": clf.encoder_.name, "method": clf.method_name, **routing,
                "timings": {"queue": round(timing.queue_seconds, 4), "encode": round(timing.encode_seconds, 4),
                            "score": t["score"], "decide": t.get("decide", 0.0),
                            "total": round(time.perf_counter() - t0, 4), "batch_items": timing.batch_items}}

    async def embed(self, body: Any, media: Media) -> dict[str, Any]:
        """``POST /v1/embed``: one vector per item (``null`` for a bad item, with its error)."""
        modality, items, pre_errors, names = media
        self.check_size(len(items))
        enc = self.encoder(body.encoder, modality)
        good = [i for i in range(len(items)) if i not in pre_errors]
        res = (await self.batcher(enc).encode([items[i] for i in good])).relabel(good)
        errors = dict(pre_errors)
        errors.update(name_errors(res.errors, names))
        vectors: list[list[float] | None] = [None] * len(items)
        for i, v in res.rows().items():
            vectors[i] = [round(float(x), 7) for x in v]
        return {"vectors": vectors, "errors": {str(i): m for i, m in sorted(errors.items())}, "encoder": enc.name,
                "dim": enc.dim}

    def close(self) -> None:
        self._closed = True
        for b in self._batchers.values():
            b.close()


def _private_paths(store: Path, cache: Path | None, models: dict[str, Path]) -> list[tuple[str, str]]:
    """The server's folders as they may appear in messages (given and resolved), longest first, with the role
    that replaces each: ``STORE``, ``CACHE``, ``MODEL:<name>``."""
    roles = [(store, "STORE")] + ([(cache, "CACHE")] if cache is not None else [])
    roles += [(folder, f"MODEL:{name}") for name, folder in models.items()]
    out: dict[str, str] = {}
    for folder, role in roles:
        for form in (Path(folder).expanduser(), Path(folder).expanduser().resolve()):
            if form.is_absolute() and len(form.parts) > 1:  # a relative form reveals nothing; never "/" alone
                out.setdefault(str(form), role)
    return sorted(out.items(), key=lambda kv: -len(kv[0]))
