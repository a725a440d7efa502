"""Label enrichment (transzero.enrich) and `transzero labels expand`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from transzero.enrich import mine_keywords, readable_name, wordnet_expansions
from transzero.labels import LabelSpace
from transzero.templates import TEMPLATE_SETS

from .conftest import TOPIC_TEXTS, KeywordEncoder
from .test_cli import run


def _wordnet_or_skip() -> None:
    if not Path("/usr/share/wordnet/data.noun").is_file():
        pytest.skip("WordNet 3.0 (Debian wordnet-base) is not installed")


@pytest.mark.parametrize("name, want", [
    ("Sci/Tech", "science and technology"),
    ("card_arrival", "card arrival"),
    ("getting_spare_card", "getting spare card"),
    ("TopUpFailed", "top up failed"),
    ("apple_pay_or_google_pay", "apple pay or google pay"),
    ("World", "World"),
    ("ATM support", "ATM support"),
    ("  spaced   out ", "spaced out"),
    ("R&D", "R and D"),
])
def test_readable_name(name: str, want: str) -> None:
    assert readable_name(name) == want


def test_prompts_use_readable_names_and_the_default_ensemble() -> None:
    ls = LabelSpace(["Sci/Tech", "card_arrival"])
    prompts = ls.prompts_for("Sci/Tech")
    assert prompts[0] == "science and technology" and len(prompts) == len(TEMPLATE_SETS["ensemble"])
    assert "A news story about science and technology." in prompts
    assert LabelSpace(["a", "b"], templates="name").prompts_for("a") == ["a"]


def test_wordnet_expansions_pick_the_used_sense() -> None:
    _wordnet_or_skip()
    sport = wordnet_expansions("Sports")
    assert sport["sense"] == "sport.n.01" and sport["gloss"] and len(sport["hyponyms"]) == 12
    assert "athletics" in sport["synonyms"]
    positive = wordnet_expansions("positive")  # the adjective, not the grammatical "positive degree"
    assert positive["sense"].startswith("positive.a") and positive["hyponyms"] == []
    assert wordnet_expansions("card_arrival")["sense"] is None


def test_mine_keywords_finds_words_that_separate_the_classes() -> None:
    enc = KeywordEncoder()
    ls = LabelSpace(["sports", "politics", "technology"], templates="name")
    C = ls.embed(enc).vectors
    texts = [t for t in TOPIC_TEXTS.values() for _ in range(3)]
    P = np.exp(20 * enc.encode(texts) @ C.T)
    P /= P.sum(1, keepdims=True)
    words = mine_keywords(texts, P, C, enc.encode, per_class=5, min_df=1, max_df=0.9)
    assert len(words) == 3 and any(words)
    W = enc.encode([w for ws in words for w in ws]) @ C.T
    owners = [k for k, ws in enumerate(words) for _ in ws]
    np.testing.assert_array_equal(W.argmax(1), owners)  # every word is nearest its own class
    assert mine_keywords(["a b"] * 2, np.full((2, 3), 1 / 3), C, enc.encode) == [[], [], []]


def test_labels_expand_prints_an_editable_labels_file(tmp_path: Path, capsys) -> None:
    code, text, err = run(["labels", "expand", "--labels", "Sci/Tech,card_arrival"], capsys)
    assert code == 0, err
    assert "# prompts: science and technology | This text is about science and technology." in text
    f = tmp_path / "l.yaml"
    f.write_text(text)
    back = LabelSpace.from_file(f)
    assert back.names == ["Sci/Tech", "card_arrival"] and back.templates == TEMPLATE_SETS["ensemble"]
    assert back.prompts_for("Sci/Tech") == LabelSpace(["Sci/Tech", "card_arrival"]).prompts_for("Sci/Tech")


def test_labels_expand_writes_wordnet_and_corpus_words(tmp_path: Path, capsys) -> None:
    _wordnet_or_skip()
    out = tmp_path / "sports.yaml"
    code, text, err = run(["labels", "expand", "--labels", "sport,politics", "--wordnet", "-o", str(out)], capsys)
    assert code == 0 and "added descriptions" in text, err
    ls = LabelSpace.from_file(out)
    assert "athletics" in ls.descriptions["sport"] and "WordNet sense sport.n.01" in out.read_text()
    code, _, err = run(["labels", "expand", "--labels", "sport,politics", "-o", str(out)], capsys)
    assert code == 2 and "already exists" in err  # never replaced without --overwrite
    corpus = tmp_path / "items.txt"
    corpus.write_text("\n".join(list(TOPIC_TEXTS.values()) * 4) + "\n")
    code, text, err = run(["labels", "expand", "--labels", "sports,politics,technology", "--items", str(corpus),
                           "--encoder", "test-keywords", "--no-cache"], capsys)
    assert code == 0 and "words from items.txt" in text, err
    code, _, err = run(["labels", "expand", "--labels", "a,b", "-o", str(tmp_path / "x.json")], capsys)
    assert code == 2 and ".yaml" in err
