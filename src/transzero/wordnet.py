"""WordNet 3.0, read with nltk's maintained ``WordNetCorpusReader`` from Debian's ``wordnet-base``.

Debian installs the database under ``/usr/share/wordnet`` but not the ``lexnames`` file
nltk needs; :func:`load_wordnet` copies the database files (~40 MB) into a folder under the
cache with the bundled ``lexnames`` beside them, once, and opens the reader there.
"""

from __future__ import annotations

import os
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from ._util import default_cache_dir
from .errors import ModelUnavailableError

__all__ = ["load_wordnet", "wordnet_root", "synset_for"]

_FILES = ("data.noun", "index.noun", "data.verb", "index.verb", "data.adj", "index.adj", "data.adv", "index.adv",
          "noun.exc", "verb.exc", "adj.exc", "adv.exc", "cntlist.rev", "index.sense")


def wordnet_root() -> Path:
    """Where the WordNet database is: ``$TRANSZERO_WORDNET`` or ``/usr/share/wordnet``."""
    return Path(os.environ.get("TRANSZERO_WORDNET", "/usr/share/wordnet"))


@lru_cache(maxsize=4)
def load_wordnet(root: str | None = None) -> Any:
    """An nltk ``WordNetCorpusReader`` over WordNet 3.0 (raises a one-line error with the fix when missing)."""
    src = Path(root) if root else wordnet_root()
    if not (src / "data.noun").is_file():
        raise ModelUnavailableError(
            f"WordNet 3.0 not found in {src}; install it (Debian/Ubuntu: apt-get install wordnet-base), "
            "set TRANSZERO_WORDNET to a folder holding data.noun, index.noun, ..., or use --method conse"
        )
    try:
        import nltk.data
        from nltk.corpus.reader.wordnet import WordNetCorpusReader
    except ImportError as exc:
        raise ModelUnavailableError("the wordnet bridge needs nltk: pip install nltk") from exc
    dest = default_cache_dir() / "wordnet-3.0"
    dest.mkdir(parents=True, exist_ok=True)
    for name in _FILES:  # copies, not links: nltk refuses paths that resolve outside its root
        f, copy = src / name, dest / name
        if f.is_file() and (not copy.is_file() or copy.stat().st_size != f.stat().st_size):
            tmp = copy.with_suffix(copy.suffix + ".part")
            tmp.write_bytes(f.read_bytes())
            os.replace(tmp, copy)
    lex = dest / "lexnames"
    if not lex.is_file():
        lex.write_text(resources.files("transzero.resources").joinpath("wordnet_lexnames.txt").read_text(encoding="utf-8"))
    # nltk only reads below its data path (its path sandbox): register both folders there
    if str(dest) not in nltk.data.path:
        nltk.data.path.append(str(dest))
    import warnings

    class _Reader(WordNetCorpusReader):  # type: ignore[misc]
        def map_wn(self, version: str = "wordnet") -> None:
            # nltk maps the loaded WordNet onto its own downloadable "wordnet" corpus (3.0) for
            # multilingual data; this *is* WordNet 3.0, so the mapping is the identity.
            return None

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "multilingual functions are not available": expected here
        return _Reader(str(dest), None)


def synsets_for(wn: Any, label: str) -> list[Any]:
    """Every noun synset a class name may denote, most frequent sense first (one for ids)."""
    text = label.strip()
    if (len(text) == 9 and text[0] == "n" and text[1:].isdigit()) or (text.count(".") == 2 and ".n." in text):
        s = synset_for(wn, text)
        return [s] if s is not None else []
    word = text.replace(" ", "_")
    return list(wn.synsets(word, pos="n") or wn.synsets(word.replace("-", "_"), pos="n"))


def synset_for(wn: Any, label: str) -> Any | None:
    """The WordNet noun synset a class name denotes: a WordNet id (``n02084071``), a synset
    name (``dog.n.01``) or a word/phrase (first, most frequent noun sense); None if not a noun."""
    text = label.strip()
    if len(text) == 9 and text[0] == "n" and text[1:].isdigit():
        try:
            return wn.synset_from_pos_and_offset("n", int(text[1:]))
        except Exception:
            return None
    if text.count(".") == 2 and ".n." in text:
        try:
            return wn.synset(text)
        except Exception:
            return None
    word = text.replace(" ", "_")
    senses = wn.synsets(word, pos="n") or wn.synsets(word.replace("-", "_"), pos="n")
    return senses[0] if senses else None
