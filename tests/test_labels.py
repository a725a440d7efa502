from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from transzero import LabelSpace
from transzero.errors import LabelError
from transzero.labels import humanize, parse_label_list
from transzero.templates import TEMPLATE_SETS, resolve_templates


def test_names_templates_and_descriptions_make_prompts() -> None:
    ls = LabelSpace(["card_arrival", "sports"], descriptions={"sports": ["a football match"]}, templates="topic")
    assert ls.prompts_for("card_arrival")[0] == "card arrival"
    assert ls.prompts_for("card_arrival")[1] == "This article is about card arrival."
    assert ls.prompts_for("sports")[-1] == "a football match"
    prompts, labels = ls.all_prompts()
    assert len(prompts) == len(labels) == 2 * len(TEMPLATE_SETS["topic"]) + 1
    assert set(labels.tolist()) == {0, 1}


@pytest.mark.parametrize(
    "names, match",
    [
        (["a", "a"], "appears twice"),
        (["a", " "], "label 2 is empty"),
        (["a", ""], "label 2 is empty"),
        (["only"], "at least 2"),
        (["a", 3], "not text"),
    ],
)
def test_bad_names_are_one_line_errors(names: list, match: str) -> None:
    with pytest.raises(LabelError, match=match) as exc:
        LabelSpace(names)
    assert "\n" not in str(exc.value)


def test_descriptions_validation() -> None:
    with pytest.raises(LabelError, match="unknown label"):
        LabelSpace(["a", "b"], descriptions={"c": "x"})
    with pytest.raises(LabelError, match="2 labels"):
        LabelSpace(["a", "b"], descriptions=["x"])
    with pytest.raises(LabelError, match="description 1 is empty"):
        LabelSpace(["a", "b"], descriptions={"a": " "})
    with pytest.raises(LabelError, match="no description"):
        LabelSpace(["a", "b"], descriptions={"a": "x"}, use_names=False)


def test_templates_validation() -> None:
    default = resolve_templates(None)
    assert default == TEMPLATE_SETS["ensemble"] and default[0] == "{}" and len(default) == len(set(default)) == 15
    for name in ("default", "topic", "sentiment", "intent"):
        assert set(TEMPLATE_SETS[name]) <= set(default)
    assert resolve_templates("A photo of {}.") == ["A photo of {}."]
    with pytest.raises(LabelError, match="unknown template set"):
        resolve_templates("nonsense")
    with pytest.raises(LabelError, match="exactly once"):
        resolve_templates(["{} and {}"])


def test_parse_label_list_and_humanize() -> None:
    assert parse_label_list(" a, b ,c") == ["a", "b", "c"]
    assert humanize("top_up__failed") == "top up failed"


@pytest.mark.parametrize(
    "fname, content",
    [
        ("l.yaml", "sports: games and athletes\npolitics:\n  - elections\n  - government\ntech:\n"),
        ("l.json", json.dumps({"sports": "games and athletes", "politics": ["elections", "government"], "tech": None})),
        ("l.yml", "templates: ['{} news']\nlabels:\n  sports: games and athletes\n  politics: [elections, government]\n  tech:\n"),
    ],
)
def test_labels_file_shapes(tmp_path: Path, fname: str, content: str) -> None:
    p = tmp_path / fname
    p.write_text(content)
    ls = LabelSpace.from_file(p)
    assert ls.names == ["sports", "politics", "tech"]
    assert ls.descriptions["politics"] == ["elections", "government"]
    assert "tech" not in ls.descriptions
    if fname == "l.yml":
        assert ls.templates == ["{} news"]


def test_labels_file_list_and_txt(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("- x\n- y\n")
    (tmp_path / "b.txt").write_text("x\n\ny\n")
    assert LabelSpace.from_file(tmp_path / "a.yaml").names == ["x", "y"]
    assert LabelSpace.from_file(tmp_path / "b.txt").names == ["x", "y"]


@pytest.mark.parametrize(
    "fname, content, match",
    [
        ("bad.yaml", b"a: [unclosed\nb: c\n", r"bad.yaml line \d+: could not parse"),
        ("bad.json", b'{"a": "x",}', r"bad.json line 1: invalid JSON"),
        ("bad.yaml", b"\xff\xfe\x00a", "not UTF-8"),
        ("bad.yaml", b"   \n", "is empty"),
        ("bad.yaml", b"a: x\na: y\nb: z\n", r"bad.yaml line 2: key 'a' appears twice"),  # not last-wins
        ("bad.json", b'{"a": "x", "b": "y", "a": "z"}', "key 'a' appears twice"),
        ("bad.yaml", b"just some words", "got plain text"),
        ("bad.yaml", b"a: {x: 1}\nb: x\n", "description string or a list"),
        ("bad.yaml", b"a: 3\nb: x\n", None),  # YAML scalars stay text: "3" is a description
        ("bad.yaml", b"sports: x\nSports: y\n", "differ only in case, spacing or punctuation"),
        ("bad.yaml", b"templates: 5\nlabels: [a, b]\n", "unknown template set '5'"),
        ("bad.json", b'{"templates": 5, "labels": ["a", "b"]}', "templates must be"),
        ("bad.json", b'{"labels": 7}', "expected a list of labels or a mapping"),
        ("bad.yaml", b"use_names: maybe\nlabels: {a: x, b: y}\n", "use_names must be true or false"),
        ("bad.json", b'[["a"], "b"]', "not text"),
        ("bad.yaml", b"- a\n- a\n", "appears twice"),
    ],
)
def test_bad_labels_files(tmp_path: Path, fname: str, content: bytes, match: str | None) -> None:
    p = tmp_path / fname
    p.write_bytes(content)
    if match is None:
        assert LabelSpace.from_file(p).names == ["a", "b"]
        return
    with pytest.raises(LabelError, match=match) as exc:
        LabelSpace.from_file(p)
    assert "\n" not in str(exc.value)


def test_missing_labels_file(tmp_path: Path) -> None:
    with pytest.raises(LabelError, match="does not exist"):
        LabelSpace.from_file(tmp_path / "nope.yaml")


def test_embed_is_computed_once_per_encoder(keyword_encoder) -> None:
    ls = LabelSpace(["sports", "politics"], templates="topic")
    ce = ls.embed(keyword_encoder)
    calls = keyword_encoder.calls
    assert ls.embed(keyword_encoder) is ce
    assert keyword_encoder.calls == calls
    assert ce.vectors.shape == (2, keyword_encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(ce.vectors, axis=1), 1.0, rtol=1e-5)
    # the ensemble is the normalised mean of the normalised prompt vectors
    mean = ce.prompt_vectors[ce.prompt_labels == 0].mean(0)
    np.testing.assert_allclose(ce.vectors[0], mean / np.linalg.norm(mean), rtol=1e-5)


def test_dict_round_trip() -> None:
    ls = LabelSpace(["a", "b"], descriptions={"a": "first"}, templates="default", use_names=True)
    assert LabelSpace.from_dict(json.loads(json.dumps(ls.to_dict()))) == ls


# ---------------------------------------------------------------------------- class semantics


def test_attributes_are_validated() -> None:
    A = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    ls = LabelSpace.from_attributes(["cat", "dog"], A, ["furry", "barks", "legs"])
    assert ls.semantic_kind == "attributes"
    ce = ls.embed(None)
    np.testing.assert_allclose(np.linalg.norm(ce.vectors, axis=1), 1.0, rtol=1e-6)
    assert ce.feature_names == ["furry", "barks", "legs"] and ce.kind == "attributes"
    with pytest.raises(LabelError, match="3 rows but there are 2 classes"):
        LabelSpace.from_attributes(["cat", "dog"], np.ones((3, 4)))
    with pytest.raises(LabelError, match="transposed"):
        LabelSpace.from_attributes(["cat", "dog"], np.ones((3, 2)))
    bad = A.copy()
    bad[1, 2] = np.nan
    with pytest.raises(LabelError, match="class 'dog' has NaN"):
        LabelSpace.from_attributes(["cat", "dog"], bad)
    with pytest.raises(LabelError, match="2 attribute names for 3"):
        LabelSpace.from_attributes(["cat", "dog"], A, ["a", "b"])
    with pytest.raises(LabelError, match="all-zero attributes"):
        LabelSpace.from_attributes(["cat", "dog"], np.array([[1.0, 0.0], [0.0, 0.0]])).embed(None)
    with pytest.raises(LabelError, match="unknown semantics 'colour'"):
        LabelSpace(["cat", "dog"], semantics="text+colour")
    with pytest.raises(LabelError, match="needs an attribute matrix"):
        LabelSpace(["cat", "dog"], semantics="attributes")
    with pytest.raises(LabelError, match="need a text encoder"):
        LabelSpace.from_attributes(["cat", "dog"], A, semantics="attributes+text").embed(None)


def test_semantic_blocks_join_to_unit_vectors(keyword_encoder) -> None:
    A = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 0.0]])
    ls = LabelSpace.from_attributes(["sports", "politics", "technology"], A, semantics="attributes+text")
    ce = ls.embed(keyword_encoder)
    assert ce.vectors.shape == (3, 3 + keyword_encoder.dim)
    np.testing.assert_allclose(np.linalg.norm(ce.vectors, axis=1), 1.0, rtol=1e-5)
    text_only = ls.with_semantics("text").embed(keyword_encoder)
    np.testing.assert_allclose(ce.vectors[:, 3:] * np.sqrt(2), text_only.vectors, rtol=1e-5, atol=1e-6)
    # the JSON form carries attributes and semantics
    again = LabelSpace.from_dict(ls.to_dict())
    assert again == ls and again.semantic_kind == "attributes+text"
    sub = ce.subset(["technology", "sports"])
    np.testing.assert_array_equal(sub.vectors, ce.vectors[[2, 0]])
    with pytest.raises(LabelError, match="'zebra' is not in the label space"):
        ce.subset(["zebra"])


def test_gloss_semantics_use_wordnet(keyword_encoder) -> None:
    from transzero.wordnet import wordnet_root

    if not (wordnet_root() / "data.noun").exists():
        pytest.skip("WordNet (Debian wordnet-base) is not installed")
    ls = LabelSpace(["dog", "tabby"], wnids={"tabby": "n02123045"}, semantics="gloss")
    g = ls.glosses()
    assert g[0].startswith("dog, domestic dog, Canis familiaris:")
    assert g[1].startswith("tabby, tabby cat:")
    assert ls.embed(keyword_encoder).vectors.shape == (2, keyword_encoder.dim)
    with pytest.raises(LabelError, match="no WordNet noun"):
        LabelSpace(["dog", "qwertyuiop"], semantics="gloss").glosses()


def test_read_attributes(tmp_path) -> None:
    from transzero.labels import read_attributes

    p = tmp_path / "a.csv"
    p.write_text("class,furry,barks\ncat,1,0\ndog,1,1\n")
    names, A, attrs = read_attributes(p)
    assert names == ["cat", "dog"] and attrs == ["furry", "barks"]
    np.testing.assert_array_equal(A, [[1, 0], [1, 1]])
    p.write_text("class,furry,barks\ncat,1,0\ndog,yes,1\n")
    with pytest.raises(LabelError, match="row 3 \\('dog'\\), column 'furry': 'yes' is not a number"):
        read_attributes(p)
    p.write_text("class,furry,barks\ncat,1,0\ndog,1\n")
    with pytest.raises(LabelError, match="row 3: 2 cells"):
        read_attributes(p)


def test_yaml_scalars_stay_labels(tmp_path: Path) -> None:
    """yes/no/null/1.0 keys are labels as written (YAML 1.1 would make them True/False/None/1.0)."""
    p = tmp_path / "l.yaml"
    p.write_text("yes: agreement\nno: disagreement\nnull: nothing\n1.0: version one\n1: one\n")
    ls = LabelSpace.from_file(p)
    assert ls.names == ["yes", "no", "null", "1.0", "1"]
    assert ls.descriptions["1.0"] == ["version one"] and ls.descriptions["null"] == ["nothing"]
    p.write_text("use_names: 'false'\nlabels: {a: alpha, b: beta}\n")
    assert LabelSpace.from_file(p).use_names is False  # a quoted 'false' is false, not a true non-empty string
    p.write_text("sports: null\npolitics: ~\ntech:\n")
    assert LabelSpace.from_file(p).descriptions == {}


def test_near_duplicate_labels_are_refused() -> None:
    for names in (["sports", "Sports"], ["Sci/Tech", "sci tech"], ["card_arrival", "card arrival"]):
        with pytest.raises(LabelError, match="differ only in case, spacing or punctuation"):
            LabelSpace(names)
    with pytest.raises(LabelError, match="templates must be"):
        LabelSpace(["a", "b"], templates=5)  # type: ignore[arg-type]
    with pytest.raises(LabelError, match="use_names must be true or false"):
        LabelSpace(["a", "b"], descriptions={"a": "x", "b": "y"}, use_names="false")  # type: ignore[arg-type]


def test_a_first_word_every_class_shares_is_dropped_from_the_prompts() -> None:
    from transzero.names import readable_names

    assert readable_names(["atis_flight", "atis_airfare", "atis_ground_service"]) == ["flight", "airfare",
                                                                                       "ground service"]
    assert readable_names(["card_arrival", "card_linking"]) == ["card arrival", "card linking"]  # two classes: kept
    assert readable_names(["rec.autos", "rec.motorcycles", "sci.space"]) == ["rec autos", "rec motorcycles",
                                                                              "science space"]
    assert readable_names(["intent", "intent_other", "intent_more"]) == ["intent", "intent other", "intent more"]
    ls = LabelSpace(["atis_flight", "atis_airfare", "atis_meal"], templates="name")
    assert ls.prompts_for("atis_meal") == ["meal"]


def test_default_templates_follow_the_items_language() -> None:
    from transzero.templates import TEMPLATE_SETS, TRANSLATED_TEMPLATES

    ls = LabelSpace(["Sport", "Wirtschaft"])
    de = ls.for_language("de")
    assert de.templates == TRANSLATED_TEMPLATES["de"] and de.default_templates
    assert "In diesem Text geht es um Sport." in de.prompts_for("Sport")
    assert ls.for_language("en") is ls and ls.for_language("xx") is ls  # no translation: English prompts
    chosen = LabelSpace(["Sport", "Wirtschaft"], templates="topic")
    assert chosen.for_language("de") is chosen  # templates the user chose are never replaced
    assert all(len(v) == len(TEMPLATE_SETS["ensemble"]) for v in TRANSLATED_TEMPLATES.values())
