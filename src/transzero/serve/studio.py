"""The studio's stored classifiers, without HTTP: :class:`Studio` creates, teaches, lists and deletes the
classifiers of the :class:`~transzero.serve.store.ClassifierStore`, encoding through the inference
:class:`~transzero.serve.service.Service` (its encoders and micro-batchers) and fitting through the pipeline's
:class:`~transzero.pipeline.FitStage`.

A stored classifier changes all or nothing: each write to one name waits for the one before it (a lock per name,
held in this process and - a lock file - across every process sharing the store, such as the replicas of
``transzero serve --engine ray``), reads the current state, checks the request, works on a copy of the state and
is kept (in memory and on disk) only once it is saved.
Classifiers loaded with ``--model`` are listed but read-only.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import Any

import numpy as np

from ..active import cross_val_accuracy, select_for_labelling
from ..classifier import ZeroShotClassifier
from ..defaults import default_method
from ..errors import InputError, TranszeroError
from ..pipeline import FitStage
from .service import Conflict, Media, NotFound, Service, decode_media, label_space, unnamed
from .store import ClassifierStore, StudioState, check_name

__all__ = ["FEW_SHOT_METHOD", "Studio"]

#: the few-shot method a stored classifier switches to once it has labelled examples (frozen: refits in ms)
FEW_SHOT_METHOD = "prototype"


class Studio:
    """The stored classifiers' operations (``/v1/classifiers``) over ``service``'s store, encoders and cache."""

    def __init__(self, service: Service) -> None:
        self.service = service
        #: one lock per stored classifier being written (dropped when no request holds or awaits it)
        self._writes: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @property
    def store(self) -> ClassifierStore:
        """The service's store (the one ``--store`` names)."""
        return self.service.store

    def _writing(self, name: str) -> asyncio.Lock:
        """The lock that serialises writes to the stored classifier ``name``."""
        lock = self._writes.get(name)
        if lock is None:
            lock = self._writes[name] = asyncio.Lock()
        return lock

    def info(self, name: str, clf: ZeroShotClassifier, state: StudioState | None,
             read_only: bool = False) -> dict[str, Any]:
        """What ``GET /v1/classifiers/{name}`` answers about ``clf`` (its folder shown as ``STORE/<name>``)."""
        hist = state.history if state else []
        return {"name": name, "classes": [str(c) for c in clf.classes_], "encoder": clf.encoder_.name,
                "method": clf.method_name, "modality": clf.encoder_.modality,
                "n_examples": len(state.examples) if state else 0, "n_pool": len(state.pool) if state else 0,
                "cv_accuracy": hist[-1][1] if hist else None,
                "zero_shot_accuracy": state.zero_shot_accuracy if state else None, "history": hist,
                "policy": state.policy if state else None, "n_session": len(state.session) if state else 0,
                "version": state.version if state else None,
                "read_only": read_only, "path": None if read_only else f"STORE/{check_name(name)}"}

    async def list_classifiers(self) -> list[dict[str, Any]]:
        """``GET /v1/classifiers``: the ``--model`` ones (read-only), then the store's."""
        out = [self.info(n, c, None, read_only=True) for n, c in self.service.pinned.items()]
        for name in await asyncio.to_thread(self.store.names):
            try:
                clf, state = await asyncio.to_thread(self.store.get, name)
            except TranszeroError as exc:  # a damaged folder is listed with its problem, not hidden
                out.append({"name": name, "classes": [], "encoder": "", "method": "", "modality": "", "n_examples": 0,
                            "n_pool": 0, "error": self.service.redact(str(exc))})
                continue
            out.append(self.info(name, clf, state))
        return out

    def _writable(self, name: str) -> None:
        check_name(name)
        if name in self.service.pinned:
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
        self.service.check_labels(body.labels)
        self.service.check_size(len(body.examples))
        state = StudioState(labels=body.labels, modality=body.modality, encoder=body.encoder, method=body.method,
                            examples=[{"item": e.item, "label": e.label} for e in body.examples])
        self._check_examples(state, body.examples)
        async with self._writing(name), self.store.writing_async(name):
            old = None
            if self.store.exists(name):  # keep the pool: the items to label next do not depend on the labels
                try:
                    _, old = await asyncio.to_thread(self.store.get, name)
                except TranszeroError:
                    old = None
            same = old is not None and old.modality == state.modality
            state.pool = old.pool if same and old is not None else []
            state.policy = old.policy if old is not None else state.policy
            # the session keeps what it knew of the examples still given, in its order; new ones follow
            kept = {(e["item"], e["label"]) for e in state.examples}
            state.session = [dict(r) for r in (old.session if same and old is not None else [])
                             if (r["item"], r["label"]) in kept]
            logged = {(r["item"], r["label"]) for r in state.session}
            state.session += [_logged(e, None) for e in body.examples if (e.item, e.label) not in logged]
            clf = await self._fit(state)
            return await self._save(name, clf, state)

    async def add_examples(self, name: str, examples: list[Any]) -> dict[str, Any]:
        """``POST /v1/classifiers/{name}/examples``: add labelled examples, refit, re-estimate accuracy."""
        self.service.check_size(len(examples))
        async with self._writing(name), self.store.writing_async(name):
            state = await self._state(name)
            self._check_examples(state, examples)
            first_new = len(state.examples)
            guesses = await self._guesses(name, state, [e for e in examples if e.predicted is None])
            state.session = state.session + [_logged(e, guesses.get(e.item)) for e in examples]
            state.examples = state.examples + [{"item": e.item, "label": e.label} for e in examples]
            labelled = {e["item"] for e in state.examples}
            state.pool = [p for p in state.pool if p not in labelled]
            clf = await self._fit(state, first_new)
            return await self._save(name, clf, state)

    async def _guesses(self, name: str, state: StudioState, examples: list[Any]) -> dict[str, tuple[str, float]]:
        """The current classifier's label and confidence for each new example's item (the session records what
        the model said when the label was given)."""
        if not examples:
            return {}
        clf, _ = await asyncio.to_thread(self.store.get, name)
        res = await self.service.encode(clf, self._items_of(state, [e.item for e in examples]))
        if not len(res):
            return {}
        proba = clf.head_.score(res.X).proba
        classes = [str(c) for c in clf.classes_]
        return {examples[i].item: (classes[int(np.argmax(p))], float(np.max(p))) for i, p in zip(res.positions, proba)}

    async def undo(self, name: str) -> dict[str, Any]:
        """``DELETE /v1/classifiers/{name}/examples/last``: take back the session's last label (its item returns to
        the pool) and refit."""
        async with self._writing(name), self.store.writing_async(name):
            state = await self._state(name)
            if not state.session and not state.examples:
                raise Conflict(f"classifier {name!r} has no labels to undo")
            last = state.session[-1] if state.session else state.examples[-1]
            state.session = state.session[:-1]
            at = max(i for i, e in enumerate(state.examples) if e["item"] == last["item"]) \
                if any(e["item"] == last["item"] for e in state.examples) else None
            if at is not None:
                state.examples = state.examples[:at] + state.examples[at + 1:]
            if last["item"] not in state.pool and all(e["item"] != last["item"] for e in state.examples):
                state.pool = [last["item"]] + state.pool
            state.history = [h for h in state.history if h[0] <= len(state.examples)]  # estimates of labels now gone
            clf = await self._fit(state)
            out = await self._save(name, clf, state)
        out["undone"] = dict(last)
        return out

    async def set_policy(self, name: str, policy: str) -> dict[str, Any]:
        """``PUT /v1/classifiers/{name}/policy``: how the next items to label are chosen (kept in ``studio.json``)."""
        async with self._writing(name), self.store.writing_async(name):
            state = await self._state(name)
            state.policy = policy
            clf, _ = await asyncio.to_thread(self.store.get, name)
            return await self._save(name, clf, state)

    async def session(self, name: str) -> dict[str, Any]:
        """``GET /v1/classifiers/{name}/session``: the labelling session (in order), the pool and the settings: all a
        page needs to continue where it stopped, after a restart too."""
        state = await self._state(name)
        return {"name": name, "labels": state.labels, "modality": state.modality, "policy": state.policy,
                "session": state.session, "pool": state.pool, "examples": state.examples}

    async def add_pool(self, name: str, media: Media, raw: list[str]) -> dict[str, Any]:
        """``POST /v1/classifiers/{name}/pool``: unlabelled items to choose the next ones to label from."""
        modality, _, pre_errors, _ = media
        self.service.check_size(len(raw))
        async with self._writing(name), self.store.writing_async(name):
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

    async def next_items(self, name: str, k: int, policy: str | None = None) -> dict[str, Any]:
        """``GET /v1/classifiers/{name}/next?k=5``: the pool items to label next, chosen by ``policy`` (default: the
        classifier's own, :meth:`set_policy`)."""
        state = await self._state(name)
        clf, _ = await asyncio.to_thread(self.store.get, name)
        if not state.pool:
            return {"items": []}
        res = await self.service.encode(clf, self._items_of(state, state.pool))
        ok = res.positions
        if not ok:
            return {"items": []}
        scores = clf.head_.score(res.X)
        labelled = None
        if state.examples and (policy or state.policy) == "diverse":  # only diversity looks at the labelled items
            ex = await self.service.encode(clf, self._items_of(state, [e["item"] for e in state.examples]))
            labelled = ex.X if len(ex) else None
        picks = select_for_labelling(scores.proba, res.X, k, labelled=labelled, policy=policy or state.policy)
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
        async with self._writing(name), self.store.writing_async(name):
            try:
                await asyncio.to_thread(self.store.delete, name)
            except KeyError:
                raise NotFound(f"no classifier named {name!r}") from None
        return {"deleted": name}

    async def _fit(self, state: StudioState, first_new: int = 0) -> ZeroShotClassifier:
        """The classifier a studio state describes: zero-shot, or few-shot on its examples; ``state``'s history
        updated. An example that cannot be encoded is an error naming it (counted from ``first_new``, the first
        example of the request)."""
        enc = self.service.encoder(state.encoder, state.modality)
        space = label_space(state.labels)
        zs_method = default_method(state.modality)
        method = state.method or (FEW_SHOT_METHOD if state.examples else zs_method)
        if not state.examples:
            return await self.service.build(enc, method, space, state.modality)
        base = await self.service.build(enc, zs_method, space, state.modality)
        res = await self.service.encode(base, self._items_of(state, [e["item"] for e in state.examples]))
        bad = sorted(res.errors)
        if bad:
            i = bad[0]
            raise InputError(f"example {i - first_new}: {unnamed(res.errors[i])}")
        X = res.X
        y = [e["label"] for e in state.examples]
        stage = FitStage()  # the pipeline's fit, as every job's

        def fit(Xt: np.ndarray, yt: list[str]) -> ZeroShotClassifier:
            clf = ZeroShotClassifier(space, encoder=base.encoder_, method=method, cache=self.service.cache or False,
                                     label_encoder=base.label_encoder_)
            return stage.fit(clf, Xt, yt)

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


def _predict(clf: ZeroShotClassifier, X: np.ndarray) -> np.ndarray:
    return np.asarray(clf.classes_[np.argmax(clf.head_.score(X).logits, axis=1)], dtype=object)


def _logged(example: Any, guess: tuple[str, float] | None) -> dict[str, Any]:
    """A session entry: the item, its label, when, and what the classifier said then (given, or ``guess``)."""
    import datetime

    when = example.time or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    predicted, confidence = (example.predicted, example.confidence) if example.predicted is not None else \
        (guess if guess is not None else (None, None))
    return {"item": example.item, "label": example.label, "time": when, "predicted": predicted,
            "confidence": None if confidence is None else round(float(confidence), 6)}
