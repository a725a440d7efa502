"""What a method can do is declared in its tags, and the declarations match the code: a method that explains
itself says ``explains``, one with an ``index`` parameter says ``nn_index`` (the classifier and the pipeline read
the tags, never ``hasattr`` or the constructor's variable names)."""

from __future__ import annotations

import inspect

import pytest

from transzero.methods.registry import list_methods, method_class
from transzero.methods.tags import get_tags


@pytest.mark.parametrize("name", list_methods())
def test_tags_match_what_the_method_does(name: str) -> None:
    cls = method_class(name)
    tags = get_tags(cls)
    assert tags.explains == callable(getattr(cls, "explain", None)), f"{name}: explains={tags.explains}"
    assert tags.nn_index == ("index" in inspect.signature(cls.__init__).parameters), f"{name}: nn_index={tags.nn_index}"


def test_the_tagged_methods() -> None:
    explains = sorted(n for n in list_methods() if get_tags(method_class(n)).explains)
    assert {"conse", "wordnet", "eszsl", "whisper", "whisper-fused", "whisper-text"} <= set(explains)
    assert sorted(n for n in list_methods() if get_tags(method_class(n)).nn_index) == ["knn", "tip-adapter", "tip-adapter-f"]
