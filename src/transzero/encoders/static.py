"""``minilm-l6-static``: a static (lookup-table) sentence encoder distilled from the bundled MiniLM with model2vec.

Every token of MiniLM's vocabulary is embedded once by MiniLM itself, reduced by PCA and weighted (model2vec's
``distill``: about two minutes of CPU, no download); a text is then the mean of its tokens' vectors - no attention,
so it is tens of times faster than the transformer and an item's vector never depends on its batch-mates. The
distilled table is cached under ``$TRANSZERO_CACHE_DIR/static`` (written atomically) and keyed by the MiniLM
weights, the PCA size and the model2vec version, so a rebuild happens only when one of them changes.
"""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from .._util import sha256_text, weights_id
from ..errors import ModelUnavailableError
from .base import ProgressCallback, TextEncoder

__all__ = ["StaticTextEncoder"]


class StaticTextEncoder(TextEncoder):
    """A model2vec static model distilled from a local sentence-transformer folder.

    Parameters
    ----------
    source : path
        The transformer folder to distill (default: the bundled all-MiniLM-L6-v2).
    name : str
    pca_dims : int
        Output dimensions.
    """

    backend = "model2vec"
    default_batch_size = 1024
    default_logit_scale = 20.0

    def __init__(self, source: str | os.PathLike[str] | None = None, *, name: str = "minilm-l6-static",
                 pca_dims: int = 256) -> None:
        if source is None:
            from .weights import minilm_dir

            source = minilm_dir()
        self.source = Path(source)
        self.name = name
        self.pca_dims = int(pca_dims)
        self._model: Any = None

    @property
    def dim(self) -> int:
        return self.pca_dims

    def _version(self) -> str:
        try:
            from importlib.metadata import version

            return version("model2vec")
        except Exception:  # pragma: no cover - metadata missing
            return "unknown"

    def _config(self) -> dict[str, Any]:
        return {"distilled_from": weights_id(self.source), "pca_dims": self.pca_dims, "model2vec": self._version()}

    def model_dir(self) -> Path:
        """Where the distilled table is cached."""
        from .model_cache import model_root

        key = sha256_text(repr(sorted(self._config().items())))[:16]
        return model_root(lambda root: (root / "static" / f"{self.name}-{key}" / "model.safetensors").is_file()) \
            / "static" / f"{self.name}-{key}"

    def _distill(self, out: Path) -> None:
        try:
            from model2vec.distill import distill
        except ImportError as exc:
            raise ModelUnavailableError(f"{self.name} needs model2vec with its distill extra: "
                                        "pip install 'model2vec[distill]'") from exc
        import logging

        print(f"{self.name}: distilling a static model from {self.source} once (about two minutes of CPU; "
              f"cached in {out.parent})", file=sys.stderr)
        for lg in ("transformers", "model2vec"):
            logging.getLogger(lg).setLevel(logging.ERROR)
        from .model_cache import building

        with building(self.name, out.parent):
            self._distill_to(out, distill)

    def _distill_to(self, out: Path, distill: Any) -> None:
        import warnings

        out.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=out.parent) as tmp, warnings.catch_warnings(), \
                open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):  # its progress bars
            warnings.simplefilter("ignore")
            model = distill(model_name=str(self.source), pca_dims=self.pca_dims, device="cpu")
            model.save_pretrained(tmp)
            if not out.exists():
                os.replace(tmp, out)
                Path(tmp).mkdir()  # TemporaryDirectory removes the (now empty) name

    def load(self) -> None:
        """Distil (once) and load the static table."""
        if self._model is not None:
            return
        d = self.model_dir()
        if not (d / "model.safetensors").is_file():
            self._distill(d)
        try:
            from model2vec import StaticModel
        except ImportError as exc:
            raise ModelUnavailableError(f"{self.name} needs: pip install model2vec") from exc
        self._model = StaticModel.from_pretrained(str(d), force_download=False)

    def _encode(self, items: list[Any], batch_size: int, progress: ProgressCallback | None) -> np.ndarray:
        self.load()
        out = np.zeros((len(items), self.dim), dtype=np.float32)
        step = max(1, int(batch_size))
        for start in range(0, len(items), step):
            chunk = items[start:start + step]
            out[start:start + len(chunk)] = self._model.encode(list(chunk), show_progress_bar=False,
                                                               use_multiprocessing=False, batch_size=step)
            if progress:
                progress(len(chunk))
        return out
