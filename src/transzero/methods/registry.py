"""The one registry of scoring methods: name -> class (imported on first use), family and help text.

Like timm's model registry, names and their one-line help are known without importing the
method modules (scikit-learn, scipy, torch), so ``transzero --help`` stays fast. Everything
else about a method - what it needs from the classifier - is declared by the class itself in
its :class:`~transzero.methods.tags.MethodTags`.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import TranszeroError

if TYPE_CHECKING:  # pragma: no cover
    from ..persistence import ModelFolder
    from .base import ZeroShotMethod

__all__ = [
    "FAMILIES", "METHODS", "MethodInfo", "create_method", "curve_methods", "list_methods", "load_method", "method_class",
    "method_info", "method_name", "methods_help", "register_method", "unregister_method",
]

#: families in the order ``--help`` lists them
FAMILIES = ("zero-shot", "few-shot", "zsl", "speech")


@dataclass(frozen=True)
class MethodInfo:
    """What the registry knows about a method before importing it.

    Attributes
    ----------
    name : str
    target : str
        ``"module:Class"`` of the estimator.
    family : str
        ``zero-shot`` (no labels needed), ``few-shot`` (learns from labelled examples, keeps a
        zero-shot prior), ``zsl`` (learns a feature-semantics map on seen classes), ``speech``.
    summary : str
        One line for ``--help``.
    in_curves : bool
        Part of ``eval --support --shots``'s default method list.
    """

    name: str
    target: str
    family: str
    summary: str
    in_curves: bool = False


_REGISTRY: dict[str, MethodInfo] = {}


def register_method(name: str, target: str, *, family: str, summary: str, in_curves: bool = False) -> MethodInfo:
    """Register ``"module:Class"`` under ``name`` (third-party methods may register their own)."""
    if family not in FAMILIES:
        raise TranszeroError(f"method family must be one of {', '.join(FAMILIES)}, got {family!r}")
    info = MethodInfo(name, target, family, summary, in_curves)
    _REGISTRY[name] = info
    return info


def unregister_method(name: str) -> None:
    """Remove a method registered with :func:`register_method` (tests, plugins that unload); unknown names are
    refused."""
    if name not in _REGISTRY:
        raise TranszeroError(f"no method {name!r} is registered")
    del _REGISTRY[name]


_M = "transzero.methods."
for _name, _target, _family, _summary, _curve in (
    ("similarity", "zeroshot:SimilarityClassifier", "zero-shot", "softmax of scaled cosines to the class descriptions (text default)", False),
    ("knn", "fewshot:KNNClassifier", "few-shot", "votes of the nearest class prompts and labelled examples", False),
    ("conse", "conse:ConSEClassifier", "zero-shot", "concept probabilities -> text space (ConSE); also on seen classes", False),
    ("wordnet", "wordnet:WordNetClassifier", "zero-shot", "ImageNet concepts under each class's WordNet synset (image default)", False),
    ("prototype", "fewshot:PrototypeClassifier", "few-shot", "nearest class mean of the labelled examples", True),
    ("linear", "fewshot:LinearProbeClassifier", "few-shot", "logistic-regression probe", True),
    ("zs-linear", "fewshot:ZeroShotLinearClassifier", "few-shot", "linear head on top of the zero-shot log-probabilities", True),
    ("tip-adapter", "fewshot:TipAdapterClassifier", "few-shot", "affinity cache added to the zero-shot prior", True),
    ("tip-adapter-f", "fewshot:TipAdapterFClassifier", "few-shot", "Tip-Adapter with trained keys", True),
    ("auto", "auto:AutoMethod", "few-shot", "the few-shot method and settings chosen by cross-validation on the support set", False),
    ("finetune", "finetune:FineTuneClassifier", "few-shot", "fine-tune the encoder (LP-FT + WiSE-FT; slow)", False),
    ("dap", "semantic:DAPClassifier", "zsl", "direct attribute prediction", False),
    ("eszsl", "semantic:ESZSLClassifier", "zsl", "embarrassingly simple ZSL (closed form)", False),
    ("sae", "semantic:SAEClassifier", "zsl", "semantic autoencoder", False),
    ("devise", "compatibility:DeViSEClassifier", "zsl", "bilinear compatibility, hinge rank loss", False),
    ("ale", "compatibility:ALEClassifier", "zsl", "bilinear compatibility, weighted rank loss", False),
    ("sje", "compatibility:SJEClassifier", "zsl", "bilinear compatibility, structured SVM", False),
    ("whisper-fused", "whisper:WhisperFusedClassifier", "speech", "Whisper: class forms said, or the transcript's topic, mixed per clip (audio default)", False),
    ("whisper", "whisper:WhisperClassifier", "speech", "Whisper scores each class's spoken forms as the transcript", False),
    ("whisper-text", "whisper:WhisperTextClassifier", "speech", "Whisper transcript, then text similarity (topics, intents)", False),
    ("asr-grammar", "asr:ASRGrammarClassifier", "speech", "pocketsphinx: spoken label words recognised with a grammar", False),
    ("asr-text", "asr:ASRTextClassifier", "speech", "pocketsphinx: free transcription, then text similarity", False),
    ("ocr", "ocr:OCRClassifier", "zero-shot", "text read in images (Tesseract) classified by similarity, fused with the visual route", False),
):
    register_method(_name, _M + _target, family=_family, summary=_summary, in_curves=_curve)


def list_methods(family: str | None = None) -> list[str]:
    """Method names accepted by :func:`create_method` and ``--method`` (optionally of one family)."""
    return sorted(n for n, i in _REGISTRY.items() if family is None or i.family == family)


def curve_methods() -> list[str]:
    """The methods a learning curve runs when none is named."""
    return [n for n, i in _REGISTRY.items() if i.in_curves]


def method_info(name: str) -> MethodInfo:
    """The :class:`MethodInfo` of a registered name (a one-line error listing the names otherwise)."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise TranszeroError(f"unknown method {name!r}; choose one of {', '.join(list_methods())}") from None


def method_class(name: str) -> type[ZeroShotMethod]:
    """The estimator class of a registered name (imports its module)."""
    module, _, cls = method_info(name).target.partition(":")
    return getattr(importlib.import_module(module), cls)  # type: ignore[no-any-return]


def create_method(name: str, **params: Any) -> ZeroShotMethod:
    """A method estimator by name, with constructor parameters."""
    cls = method_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise TranszeroError(f"method {name!r}: {exc}; see help({cls.__name__})") from None


def load_method(config: Mapping[str, Any], folder: ModelFolder) -> ZeroShotMethod:
    """A fitted method from its part of a saved classifier (:meth:`ZeroShotMethod.save_config`).

    The name must be registered and the parameters fit the method's signature; a state that cannot be
    restored is one :class:`~transzero.errors.SavedModelError` line.
    """
    from ..errors import SavedModelError
    from ..schema import check_method_params

    where = str(folder.root)
    name = str(config["name"])
    if name not in _REGISTRY:
        raise SavedModelError(f"{where}: unknown method {name!r} in config.json; this transzero has {', '.join(list_methods())}")
    cls = method_class(name)
    method = cls(**check_method_params(cls, dict(config.get("params") or {}), where))
    arrays = {k: folder.load_array(f) for k, f in dict(config.get("arrays") or {}).items()}
    try:
        return method.set_state(dict(config.get("state") or {}), arrays)
    except SavedModelError:
        raise
    except Exception as exc:  # a state of the wrong shape or types: a broken folder, said in one line
        raise SavedModelError(f"{where}: the state of method {name!r} cannot be restored ({type(exc).__name__}: {exc}); "
                              "save the classifier again") from None


def method_name(method: Any) -> str:
    """The registered name of a method instance (or class)."""
    cls = method if isinstance(method, type) else type(method)
    target = f"{cls.__module__}:{cls.__name__}"
    for name, info in _REGISTRY.items():
        if info.target == target:
            return name
    raise TranszeroError(f"method {cls.__name__} is not registered; register it with transzero.methods.register_method")


def methods_help() -> str:
    """Every method by family, for ``--method``'s help text."""
    parts = []
    for fam in FAMILIES:
        names = [n for n, i in _REGISTRY.items() if i.family == fam]
        if names:
            parts.append(f"{fam}: {', '.join(names)}")
    return "; ".join(parts)


class _MethodClasses(Mapping[str, type]):
    """``METHODS[name]`` -> class, importing the module on access (a read-only view of the registry)."""

    def __getitem__(self, name: str) -> type:
        if name not in _REGISTRY:
            raise KeyError(name)
        return method_class(name)

    def __iter__(self) -> Iterator[str]:
        return iter(list(_REGISTRY))

    def __len__(self) -> int:
        return len(_REGISTRY)


#: name -> estimator class, for code written against the old dict (classes import on access)
METHODS: Mapping[str, type] = _MethodClasses()
