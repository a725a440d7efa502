"""What a class name reads as, in the prompts it is embedded in (no heavy imports; :mod:`transzero.enrich`
re-exports these with the rest of label enrichment)."""

from __future__ import annotations

import re

__all__ = ["ABBREVIATIONS", "readable_name", "readable_names"]


#: common abbreviations in class names, spelled out when a name is made readable
ABBREVIATIONS: dict[str, str] = {
    "sci": "science", "tech": "technology", "biz": "business", "econ": "economy", "intl": "international",
    "govt": "government", "gov": "government", "edu": "education", "ent": "entertainment", "misc": "miscellaneous",
    "info": "information", "pol": "politics", "med": "medicine", "fin": "finance", "env": "environment",
    "gen": "general", "admin": "administration", "dept": "department", "mgmt": "management", "acct": "account",
    "atm": "ATM", "faq": "FAQ", "ui": "user interface", "ux": "user experience", "qa": "quality assurance",
}

_SPLIT = re.compile(r"[\s_\-.+,]+")


def readable_name(name: str) -> str:
    """A class name as words: separators and camelCase split, ``/`` and ``&`` read as "and",
    common abbreviations (:data:`ABBREVIATIONS`) spelled out. Plain names come back unchanged
    apart from spacing.

    >>> readable_name("Sci/Tech"), readable_name("card_arrival"), readable_name("TopUpFailed")
    ('science and technology', 'card arrival', 'top up failed')
    """
    text = str(name).strip()
    parts = [p for p in re.split(r"\s*[/&]\s*", text) if p.strip()]
    words_out: list[str] = []
    for i, part in enumerate(parts):
        if i:
            words_out.append("and")
        camel = re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", " ", part) if not part.isupper() else part
        for w in _SPLIT.split(camel):
            if not w:
                continue
            full = ABBREVIATIONS.get(w.lower())
            if full is not None and (len(parts) > 1 or len(w) <= 4):
                words_out.append(full)
            else:
                words_out.append(w.lower() if (camel is not part and not w.isupper()) else w)
    return " ".join(words_out) or text


def readable_names(names: list[str] | tuple[str, ...]) -> list[str]:
    """:func:`readable_name` of every class, without a first word that all of them share.

    A word every class name starts with (``atis_flight``, ``atis_airfare``, ... of an air-travel intent set)
    tells the classes nothing apart, yet it weighs on every prompt. Dropped when there are at least three
    classes and each keeps at least one word. On the dev suite it lifted the ATIS intents from 20.7 to 36.6 %
    (names only, MiniLM) and changed no other set (docs/benchmarks.md, "The text dev suite").

    >>> readable_names(["atis_flight", "atis_airfare", "atis_ground_service"])
    ['flight', 'airfare', 'ground service']
    >>> readable_names(["card arrival", "card linking", "top up"])
    ['card arrival', 'card linking', 'top up']
    """
    out = [readable_name(n) for n in names]
    split = [r.split(" ", 1) for r in out]
    if len(out) >= 3 and all(len(p) == 2 for p in split) and len({p[0].lower() for p in split}) == 1:
        return [p[1] for p in split]
    return out
