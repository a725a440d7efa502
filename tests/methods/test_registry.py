"""A new method is one module plus one `register_method` call: it then runs from Python, the CLI and saved folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from transzero import ZeroShotClassifier, load_classifier
from transzero.errors import TranszeroError
from transzero.methods import ZeroShotMethod, list_methods, register_method, unregister_method
from transzero.methods.tags import FitContext

from ..conftest import TOPIC_LABELS, TOPIC_TEXTS


class NearestClassDot(ZeroShotMethod):
    """A toy method written outside the package: logits = dot products with the class vectors, times ``scale``."""

    _state_attrs = ZeroShotMethod._state_attrs + ("class_vectors_",)

    def __init__(self, scale: float = 5.0) -> None:
        self.scale = scale

    def fit(self, X: Any = None, y: Any = None, *, context: FitContext | None = None, **fields: Any) -> NearestClassDot:
        ce = self._fit_common(FitContext.build(context, **fields), y)
        self.class_vectors_ = np.asarray(ce.vectors, dtype=np.float32)
        return self

    def _logits(self, Xn: np.ndarray) -> np.ndarray:
        return self.scale * (Xn @ self.class_vectors_.T)


@pytest.fixture
def toy_method():
    register_method("toy-dot", f"{__name__}:NearestClassDot", family="zero-shot", summary="a toy")
    yield "toy-dot"
    unregister_method("toy-dot")


def test_a_registered_method_runs_everywhere(toy_method: str, tmp_path: Path, capsys) -> None:
    from ..test_cli import run

    assert toy_method in list_methods("zero-shot")
    clf = ZeroShotClassifier(TOPIC_LABELS, encoder="test-keywords", method=toy_method,
                             method_params={"scale": 3.0}).fit()
    assert list(clf.predict(list(TOPIC_TEXTS.values()))) == list(TOPIC_TEXTS)
    clf.save(tmp_path / "m")
    back = load_classifier(tmp_path / "m")
    assert back.method_name == toy_method and back.method_.scale == 3.0
    texts = tmp_path / "in.txt"
    texts.write_text("\n".join(TOPIC_TEXTS.values()) + "\n")
    code, out, err = run(["classify", str(texts), "--labels", ",".join(TOPIC_LABELS), "--encoder", "test-keywords",
                          "--method", toy_method, "--no-cache"], capsys)
    assert code == 0, err
    assert [json.loads(line)["label"] for line in out.splitlines()] == list(TOPIC_TEXTS)


def test_unregistering_removes_it(toy_method: str) -> None:
    unregister_method(toy_method)
    assert toy_method not in list_methods()
    with pytest.raises(TranszeroError):
        unregister_method(toy_method)
    register_method(toy_method, f"{__name__}:NearestClassDot", family="zero-shot", summary="a toy")  # for the fixture
