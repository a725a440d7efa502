"""What the HTTP service does, without HTTP: build or find classifiers, encode through the micro-batchers,
predict through the job pipeline's :class:`~transzero.pipeline.ClassifyPipeline`, learn from examples.

Every request item arrives as content (text, or base64 / uploaded bytes for images and audio), never as a path,
and requests may name registered encoders only: no request makes the server read a file the client names.
A stored classifier changes all or nothing: each write to one name waits for the one before it (a lock per name),
checks the request, works on a copy of the state and is kept (in memory and on disk) only once it is saved.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import re
import threading
import time
import weakref
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .._util import l2_normalize
from ..active import cross_val_accuracy, select_for_labelling
from ..classifier import ZeroShotClassifier
from ..data.text import ItemTable
from ..defaults import default_encoder, default_method
from ..encoders.base import Encoder
from ..errors import InputError, LabelError, TranszeroError
from ..labels import ClassEmbeddings, LabelSpace
from ..pipeline import ClassifyPipeline, DecideSpec, Encoded, FitStage, ModelSpec, Timings
from ..store import EmbeddingCache
from .batcher import EncodeResult, MicroBatcher
from .store import ClassifierStore, StudioState, check_name

__all__ = ["Conflict", "Media", "NotFound", "ServeSettings", "Service", "TooLarge"]

#: the few-shot method a stored classifier switches to once it has labelled examples (frozen: refits in ms)
FEW_SHOT_METHOD = "prototype"


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
    """The service's state: encoders and their micro-batchers, classifiers built for requests, the store."""

    def __init__(self, settings: ServeSettings, metrics: Any = None) -> None:
        from .store import default_store

        self.settings = settings
        self.metrics = metrics
        self.cache = None if settings.no_cache else EmbeddingCache(settings.cache_dir, warn=self._warn)
        self.store = ClassifierStore(settings.store or default_store(), self.cache)
        self._encoders: dict[str, Encoder] = {}
        self._batchers: dict[str, MicroBatcher] = {}
        self._built: OrderedDict[str, ZeroShotClassifier] = OrderedDict()
        self._lock = threading.RLock()
        self.warnings: list[str] = []
        self.pinned: dict[str, ZeroShotClassifier] = {}
        #: one lock per stored classifier being written (dropped when no request holds or awaits it)
        self._writes: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        for name, folder in settings.models.items():
            check_name(name)
            self.pinned[name] = ZeroShotClassifier.load(folder, cache=self.cache or False)
        self._private = _private_paths(self.store.root, self.cache.root if self.cache else None, settings.models)

    def _warn(self, message: str) -> None:
        self.warnings.append(message)

    def redact(self, message: str) -> str:
        """``message`` with the server's own folders (store, cache, ``--model`` folders) replaced by their roles."""
        for path, role in self._private:
            message = message.replace(path, role)
        return message

    def _writing(self, name: str) -> asyncio.Lock:
        """The lock that serialises writes to the stored classifier ``name``."""
        lock = self._writes.get(name)
        if lock is None:
            lock = self._writes[name] = asyncio.Lock()
        return lock

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

    async def encode(self, clf: ZeroShotClassifier, items: list[Any]) -> EncodeResult:
        """Vectors (or decoded clips, for speech recognisers) of ``items``, bad ones reported."""
        if clf.method_tags.raw_items:
            t0 = time.perf_counter()
            X, errors = await self.on_encoder_thread(clf.encoder_, clf.encode_report, items)
            return EncodeResult(X, errors, 0.0, time.perf_counter() - t0, len(items))
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
    def _check_size(self, n: int) -> None:
        if n > self.settings.max_items:
            raise TooLarge(f"{n} items in one request; the limit is {self.settings.max_items} (--max-items)")

    def _check_labels(self, labels: Any) -> None:
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
        self._check_labels(labels)
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
        self._check_size(len(items))
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
        ok = [j for j in range(len(good)) if j not in res.errors]
        encoded = Encoded(res.X[ok] if len(ok) else res.X[:0], [good[j] for j in ok],
                          name_errors({good[j]: m for j, m in res.errors.items()}, names))
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
        return {"predictions": out, "encoder": clf.encoder_.name, "method": clf.method_name, **routing,
                "timings": {"queue": round(res.queue_seconds, 4), "encode": round(res.encode_seconds, 4),
                            "score": t["score"], "decide": t.get("decide", 0.0),
                            "total": round(time.perf_counter() - t0, 4), "batch_items": res.batch_items}}

    async def embed(self, body: Any, media: Media) -> dict[str, Any]:
        """``POST /v1/embed``: one vector per item (``null`` for a bad item, with its error)."""
        modality, items, pre_errors, names = media
        self._check_size(len(items))
        enc = self.encoder(body.encoder, modality)
        good = [i for i in range(len(items)) if i not in pre_errors]
        res = await self.batcher(enc).encode([items[i] for i in good])
        errors = dict(pre_errors)
        errors.update(name_errors({good[j]: m for j, m in res.errors.items()}, names))
        vectors: list[list[float] | None] = [None] * len(items)
        for j, i in enumerate(good):
            if j not in res.errors:
                vectors[i] = [round(float(v), 7) for v in res.X[j]]
        return {"vectors": vectors, "errors": {str(i): m for i, m in sorted(errors.items())}, "encoder": enc.name,
                "dim": enc.dim}

    # ------------------------------------------------------------------ stored classifiers
    def info(self, name: str, clf: ZeroShotClassifier, state: StudioState | None, read_only: bool = False) -> dict[str, Any]:
        hist = state.history if state else []
        return {"name": name, "classes": [str(c) for c in clf.classes_], "encoder": clf.encoder_.name,
                "method": clf.method_name, "modality": clf.encoder_.modality,
                "n_examples": len(state.examples) if state else 0, "n_pool": len(state.pool) if state else 0,
                "cv_accuracy": hist[-1][1] if hist else None,
                "zero_shot_accuracy": state.zero_shot_accuracy if state else None, "history": hist,
                "read_only": read_only, "path": None if read_only else f"STORE/{check_name(name)}"}

    async def list_classifiers(self) -> list[dict[str, Any]]:
        out = [self.info(n, c, None, read_only=True) for n, c in self.pinned.items()]
        for name in await asyncio.to_thread(self.store.names):
            try:
                clf, state = await asyncio.to_thread(self.store.get, name)
            except TranszeroError as exc:  # a damaged folder is listed with its problem, not hidden
                out.append({"name": name, "classes": [], "encoder": "", "method": "", "modality": "", "n_examples": 0,
                            "n_pool": 0, "error": self.redact(str(exc))})
                continue
            out.append(self.info(name, clf, state))
        return out

    def _writable(self, name: str) -> None:
        check_name(name)
        if name in self.pinned:
            raise Conflict(f"classifier {name!r} was loaded with --model and is read-only; choose another name")

    async def _state(self, name: str) -> StudioState:
        """A copy of ``name``'s studio state (changing it changes nothing until :meth:`_save`)."""
        self._writable(name)
        try:
            _, state = await asyncio.to_thread(self.store.get, name)
        except KeyError:
            raise NotFound(f"no classifier named {name!r}; create it with PUT /v1/classifiers/{name}") from None
        if state is None:
            raise Conflict(f"classifier {name!r} was not made by this service (no studio state); PUT it again")
        return state

    def _items_of(self, state: StudioState, values: list[str]) -> list[Any]:
        """Stored examples/pool entries as encoder items (texts as they are, media decoded)."""
        if state.modality == "text":
            return list(values)
        decoded, _ = decode_media(values, state.modality)
        return decoded

    def _check_examples(self, state: StudioState, examples: list[Any]) -> None:
        """Refuse the first unusable example (unknown label, empty text, undecodable base64) before any work."""
        classes = label_space(state.labels).names
        for i, e in enumerate(examples):
            if e.label not in classes:
                raise InputError(f"example {i}: label {e.label!r} is not one of the classifier's classes "
                                 f"({', '.join(classes)})")
            if state.modality == "text" and not e.item.strip():
                raise InputError(f"example {i}: text is empty or whitespace only; remove it or fill it in")
        if state.modality != "text":
            _, errors = decode_media([e.item for e in examples], state.modality)
            if errors:
                i = min(errors)
                raise InputError(f"example {i}: {errors[i]}")

    async def _save(self, name: str, clf: ZeroShotClassifier, state: StudioState) -> dict[str, Any]:
        """Store ``clf`` with ``state`` (atomically; memory follows only once the disk has it); its info."""
        await asyncio.to_thread(self.store.put, name, clf, state)
        return self.info(name, clf, state)

    async def put(self, name: str, body: Any) -> dict[str, Any]:
        """``PUT /v1/classifiers/{name}``: create or replace it from labels (and optional labelled examples)."""
        self._writable(name)
        self._check_labels(body.labels)
        self._check_size(len(body.examples))
        state = StudioState(labels=body.labels, modality=body.modality, encoder=body.encoder, method=body.method,
                            examples=[{"item": e.item, "label": e.label} for e in body.examples])
        self._check_examples(state, body.examples)
        async with self._writing(name):
            if self.store.exists(name):  # keep the pool: the items to label next do not depend on the labels
                try:
                    _, old = await asyncio.to_thread(self.store.get, name)
                    state.pool = old.pool if old is not None and old.modality == state.modality else []
                except TranszeroError:
                    state.pool = []
            clf = await self._fit(state)
            return await self._save(name, clf, state)

    async def add_examples(self, name: str, examples: list[Any]) -> dict[str, Any]:
        """``POST /v1/classifiers/{name}/examples``: add labelled examples, refit, re-estimate accuracy."""
        self._check_size(len(examples))
        async with self._writing(name):
            state = await self._state(name)
            self._check_examples(state, examples)
            first_new = len(state.examples)
            state.examples = state.examples + [{"item": e.item, "label": e.label} for e in examples]
            labelled = {e["item"] for e in state.examples}
            state.pool = [p for p in state.pool if p not in labelled]
            clf = await self._fit(state, first_new)
            return await self._save(name, clf, state)

    async def add_pool(self, name: str, media: Media, raw: list[str]) -> dict[str, Any]:
        """``POST /v1/classifiers/{name}/pool``: unlabelled items to choose the next ones to label from."""
        modality, _, pre_errors, _ = media
        self._check_size(len(raw))
        async with self._writing(name):
            state = await self._state(name)
            if modality != state.modality:
                raise InputError(f"classifier {name!r} takes {state.modality} items, not {modality}")
            known = set(state.pool) | {e["item"] for e in state.examples}
            added = list(dict.fromkeys(v for i, v in enumerate(raw) if i not in pre_errors and v not in known))
            state.pool = state.pool + added
            clf, _ = await asyncio.to_thread(self.store.get, name)
            out = await self._save(name, clf, state)
        out["added"] = len(added)
        out["errors"] = {str(i): m for i, m in pre_errors.items()}
        return out

    async def next_items(self, name: str, k: int) -> dict[str, Any]:
        """``GET /v1/classifiers/{name}/next?k=5``: the pool items to label next (uncertain and diverse)."""
        state = await self._state(name)
        clf, _ = await asyncio.to_thread(self.store.get, name)
        if not state.pool:
            return {"items": []}
        res = await self.encode(clf, self._items_of(state, state.pool))
        ok = [i for i in range(len(state.pool)) if i not in res.errors]
        if not ok:
            return {"items": []}
        scores = clf.score_encoded(res.X[ok])
        labelled = None
        if state.examples:
            ex = await self.encode(clf, self._items_of(state, [e["item"] for e in state.examples]))
            good = [i for i in range(len(state.examples)) if i not in ex.errors]
            labelled = ex.X[good] if good else None
        picks = select_for_labelling(scores.proba, res.X[ok], k, labelled=labelled)
        classes = [str(c) for c in clf.classes_]
        items = []
        for j in picks:
            p = scores.proba[j]
            best = int(np.argmax(p))
            items.append({"index": ok[j], "item": state.pool[ok[j]], "label": classes[best], "confidence": float(p[best]),
                          "scores": {c: round(float(v), 6) for c, v in zip(classes, p)}})
        return {"items": items}

    async def delete(self, name: str) -> dict[str, Any]:
        self._writable(name)
        async with self._writing(name):
            try:
                await asyncio.to_thread(self.store.delete, name)
            except KeyError:
                raise NotFound(f"no classifier named {name!r}") from None
        return {"deleted": name}

    async def _fit(self, state: StudioState, first_new: int = 0) -> ZeroShotClassifier:
        """The classifier a studio state describes: zero-shot, or few-shot on its examples; ``state``'s history
        updated. An example that cannot be encoded is an error naming it (counted from ``first_new``, the first
        example of the request)."""
        enc = self.encoder(state.encoder, state.modality)
        space = label_space(state.labels)
        zs_method = default_method(state.modality)
        method = state.method or (FEW_SHOT_METHOD if state.examples else zs_method)
        if not state.examples:
            return await self.build(enc, method, space, state.modality)
        base = await self.build(enc, zs_method, space, state.modality)
        res = await self.encode(base, self._items_of(state, [e["item"] for e in state.examples]))
        bad = sorted(res.errors)
        if bad:
            i = bad[0]
            raise InputError(f"example {i - first_new}: {_ANONYMOUS.sub('', res.errors[i], count=1)}")
        X = res.X
        y = [e["label"] for e in state.examples]

        def fit(Xt: np.ndarray, yt: list[str]) -> ZeroShotClassifier:
            clf = ZeroShotClassifier(space, encoder=base.encoder_, method=method, cache=self.cache or False,
                                     label_encoder=base.label_encoder_)
            return clf.fit_encoded(Xt, yt)

        def fit_and_score() -> tuple[ZeroShotClassifier, float | None, float]:
            clf = fit(X, y)
            cv = cross_val_accuracy(lambda a, b, c: _predict(fit(a, b), c), X, y)
            zs = float(np.mean(_predict(base, X) == np.asarray(y, dtype=object)))  # zero-shot never saw these labels
            return clf, cv, zs

        clf, cv, zs = await asyncio.to_thread(fit_and_score)
        if cv is not None:
            state.history = [h for h in state.history if h[0] != len(y)] + [[float(len(y)), round(cv, 4)]]
        state.zero_shot_accuracy = round(zs, 4)
        return clf

    def close(self) -> None:
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


def _predict(clf: ZeroShotClassifier, X: np.ndarray) -> np.ndarray:
    return np.asarray(clf.classes_[np.argmax(clf.decision_function_encoded(X), axis=1)], dtype=object)
