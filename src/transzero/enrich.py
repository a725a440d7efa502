"""Label enrichment: more words for classes that were only named.

Three sources, all shown to the user before they are used (``transzero labels expand``):

* :func:`readable_name` - the name itself made readable: ``card_arrival`` -> ``card arrival``,
  ``getting_spare_card`` -> ``getting spare card``, ``Sci/Tech`` -> ``science and technology``,
  ``TopUpFailed`` -> ``top up failed``. Always on (it is how names are filled into prompts).
* :func:`wordnet_expansions` - WordNet synonyms, the gloss and frequent hyponyms of the name's most
  frequent noun (or adjective) sense: *sport* -> athletics, football, tennis, ... Opt-in: on the dev sets
  the first sense is too often the wrong one (*positive* -> "positive degree", *World* -> "universe") and
  the default prompts lost 0.5-5 points with them (docs/benchmarks.md, "Names only").
* :func:`mine_keywords` - words of an unlabelled corpus that sit closest to each class and separate it
  from the others (in the manner of Lbl2TransformerVec / X-Class): the items most typical of a class
  under the current model vote for words that are frequent among them and rare elsewhere, and a word is
  kept only when its own embedding is nearer its class than any other.

Each returns plain text, so the result is an ordinary labels file the user can read and edit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ._util import l2_normalize
from .names import ABBREVIATIONS, readable_name

__all__ = ["ABBREVIATIONS", "corpus_words", "mine_keywords", "readable_name", "wordnet_expansions"]


def wordnet_expansions(name: str, *, hyponyms: int = 12, wn: Any = None) -> dict[str, Any]:
    """WordNet's words for a class name: ``{"sense", "synonyms", "gloss", "hyponyms"}`` (empty when unknown).

    The most frequent noun sense of the whole name (``credit card``), else of an adjective (``positive``);
    hyponyms are the most frequent ones two levels down. ``sense`` names the synset so the user can see which
    meaning was taken.
    """
    from .wordnet import load_wordnet

    wn = wn if wn is not None else load_wordnet()
    phrase = readable_name(name)
    key = phrase.replace(" ", "_")
    firsts = [ss[0] for ss in (wn.synsets(key, pos=p) for p in ("n", "a", "s")) if ss]
    if not firsts:
        return {"sense": None, "synonyms": [], "gloss": None, "hyponyms": []}

    def usage(syn: Any) -> int:  # how often the name is used in this sense (SemCor counts)
        return sum(lem.count() for lem in syn.lemmas() if lem.name().lower() == key.lower())

    s = max(firsts, key=usage)  # the most used part of speech; ties keep the noun
    lemmas = [lem.name().replace("_", " ") for lem in s.lemmas()]
    if s.pos() in ("a", "s"):
        lemmas += [x.lemmas()[0].name().replace("_", " ") for x in s.similar_tos()]
    seen = {phrase.lower()}
    synonyms = [w for w in dict.fromkeys(lemmas) if w.lower() not in seen]
    hypo: list[str] = []
    if s.pos() == "n" and hyponyms > 0:
        frontier, found = [s], []
        for _ in range(2):
            nxt = [h for f in frontier for h in f.hyponyms()]
            nxt.sort(key=lambda h: (-sum(lem.count() for lem in h.lemmas()), h.name()))
            found += nxt
            frontier = nxt
        for h in found:
            w = h.lemmas()[0].name().replace("_", " ")
            if w.lower() not in seen and w not in hypo and w not in synonyms:
                hypo.append(w)
            if len(hypo) >= hyponyms:
                break
    return {"sense": s.name(), "synonyms": synonyms, "gloss": s.definition(), "hyponyms": hypo}


def mine_keywords(
    texts: Sequence[str],
    proba: np.ndarray,
    class_vectors: np.ndarray,
    embed_words: Callable[[list[str]], np.ndarray],
    *,
    per_class: int = 10,
    candidates: int = 60,
    share: float = 0.5,
    min_df: int = 3,
    max_df: float = 0.3,
) -> list[list[str]]:
    """Words of ``texts`` that describe each class, best first.

    Parameters
    ----------
    texts : the unlabelled items.
    proba : (N, K) the current model's probabilities of the items.
    class_vectors : (K, D) unit class vectors in the space of ``embed_words``.
    embed_words : callable
        Embeds a list of words into ``class_vectors``' space.
    per_class : words kept per class.
    candidates : words per class scored by the corpus before the embedding check.
    share : the items most typical of a class are its ``share * N / K`` highest-probability items.
    min_df, max_df : a word must occur in at least ``min_df`` items and at most a ``max_df`` fraction.

    Returns
    -------
    list of K lists of words.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    P = np.asarray(proba, dtype=np.float64)
    N, K = P.shape
    if len(texts) != N:
        raise ValueError(f"{len(texts)} texts but {N} rows of probabilities")
    try:
        cv = CountVectorizer(lowercase=True, token_pattern=r"(?u)\b[^\W\d_][\w'-]{2,}\b", stop_words="english",
                             min_df=min(min_df, max(1, N // 10)), max_df=max_df, binary=True)
        D = cv.fit_transform(list(texts)).tocsr().astype(np.float32)
    except ValueError:  # no word survives the frequency limits (tiny or empty corpus)
        return [[] for _ in range(K)]
    vocab = np.asarray(cv.get_feature_names_out())
    df_all = np.asarray(D.sum(axis=0)).ravel() + 1.0
    m = max(3, int(share * N / K))
    picks: list[list[str]] = []
    for c in range(K):
        top = np.argsort(-P[:, c], kind="stable")[:m]
        df_c = np.asarray(D[top].sum(axis=0)).ravel()
        score = (df_c / m) * np.log((df_c + 0.5) / m / (df_all / N))
        order = np.argsort(-score, kind="stable")[:candidates]
        picks.append([str(vocab[i]) for i in order if score[i] > 0])
    words = sorted({w for p in picks for w in p})
    if not words:
        return [[] for _ in range(K)]
    W = l2_normalize(np.asarray(embed_words(words), dtype=np.float32))
    row = {w: i for i, w in enumerate(words)}
    C = l2_normalize(np.asarray(class_vectors, dtype=np.float32))
    out: list[list[str]] = []
    for c in range(K):
        if not picks[c]:
            out.append([])
            continue
        S = W[[row[w] for w in picks[c]]] @ C.T
        out.append([w for w, s in zip(picks[c], S) if int(np.argmax(s)) == c][:per_class])
    return out


def corpus_words(space: Any, texts: Sequence[str], *, encoder: Any = None, cache: Any = None,
                 per_class: int = 10) -> list[list[str]]:
    """Words of an unlabelled corpus for every class of ``space`` (a :class:`~transzero.LabelSpace`), best first.

    The classes are scored over ``texts`` with the transductive recipe (the default text encoder unless
    ``encoder`` is given; through ``cache`` when given), then :func:`mine_keywords` picks words typical of each
    class's most probable texts whose embedding is nearest that class.
    """
    from .classifier import ZeroShotClassifier
    from .errors import InputError
    from .transductive import Transduction

    texts = list(texts)
    if len(texts) < 2 * len(space.names):
        raise InputError(f"{len(texts)} usable texts are too few to mine words for {len(space.names)} classes; "
                         f"give at least {2 * len(space.names)}")
    clf = ZeroShotClassifier(labels=space, encoder=encoder, cache=cache if cache is not None else False).fit()
    if clf.encoder_.modality != "text":
        raise InputError(f"corpus words need a text encoder; {clf.encoder_.name} encodes {clf.encoder_.modality}")
    P = clf.transduce(texts, transduction=Transduction())
    return mine_keywords(texts, P, clf.class_embeddings_.vectors, clf.encode, per_class=per_class)
