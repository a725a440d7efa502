"""How a class is *said*: the written forms a speech recogniser may transcribe it as.

``spoken_forms("seven")`` -> ``["Seven.", "seven.", "7."]``; ``spoken_forms("card_arrival")`` -> ``["Card arrival.",
"card arrival."]``. A class's forms come from its name as written, its readable name
(:func:`~transzero.names.readable_name`), its descriptions and aliases, and numbers both as words and as digits
(0-999). Each is written the way Whisper transcribes a short utterance: a capitalised sentence and a lower-case one,
each ending in a full stop (the set was chosen on development clips; docs/benchmarks.md, "Speech").

No heavy imports: the CLI's ``labels`` command and the methods share it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from .names import readable_name

__all__ = ["number_to_words", "spoken_forms", "words_to_number"]

_ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
         "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen"]
_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
#: descriptions longer than this many words are descriptions, not things said: they are not forms
MAX_FORM_WORDS = 8


def number_to_words(n: int) -> str:
    """``7`` -> ``"seven"``, ``42`` -> ``"forty-two"``, ``305`` -> ``"three hundred five"`` (0-999)."""
    if not 0 <= n <= 999:
        raise ValueError(f"{n} is outside 0-999")
    if n < 20:
        return _ONES[n]
    if n < 100:
        t, o = divmod(n, 10)
        return _TENS[t] + (f"-{_ONES[o]}" if o else "")
    h, rest = divmod(n, 100)
    return f"{_ONES[h]} hundred" + (f" {number_to_words(rest)}" if rest else "")


def words_to_number(text: str) -> int | None:
    """``"seven"`` -> 7, ``"forty two"`` / ``"forty-two"`` -> 42, ``"oh"`` -> 0; None when ``text`` is not a number
    in words (0-999)."""
    words = [w for w in re.split(r"[\s\-]+", text.strip().lower()) if w and w != "and"]
    if not words:
        return None
    if words == ["oh"]:
        return 0
    total, current = 0, 0
    seen = False
    for w in words:
        if w in _ONES:
            v = _ONES.index(w)
            if current % 10 or (current and v >= 10) or (current >= 100 and current % 100 and v >= 10):
                return None
            current += v
        elif w in _TENS[2:]:
            if current % 100:
                return None
            current += 10 * _TENS.index(w)
        elif w == "hundred":
            if not 0 < current < 10:
                return None
            current *= 100
        else:
            return None
        seen = True
    total += current
    return total if seen and total <= 999 else None


def _sentence(text: str) -> list[str]:
    """``text`` as Whisper writes a short utterance: capitalised and as written, each ending in a full stop."""
    t = " ".join(text.split()).strip(" .!?,;:")
    if not t:
        return []
    out = [t[0].upper() + t[1:] + ".", t + "."]
    lower = t.lower() + "."
    if lower not in out:
        out.append(lower)
    return out


def _variants(text: str) -> list[str]:
    """``text``, its readable form, and the same number the other way (words <-> digits)."""
    readable = readable_name(text)
    # a name with separators or camelCase ("card_arrival", "PlayMusic") is said as its readable form only
    base = [text, readable] if " ".join(text.split()).lower() == readable.lower() else [readable]
    out: list[str] = []
    for b in base:
        b = " ".join(b.split())
        if not b:
            continue
        out.append(b)
        if re.fullmatch(r"\d{1,3}", b):
            out.append(number_to_words(int(b)))
        else:
            n = words_to_number(b)
            if n is not None:
                out.append(str(n))
    return out


def spoken_forms(name: str, descriptions: Iterable[str] = ()) -> list[str]:
    """Every written form a class may be transcribed as (deduplicated, in order: name first).

    Parameters
    ----------
    name : str
        The class name as given (``"seven"``, ``"7"``, ``"card_arrival"``, ``"PlayMusic"``).
    descriptions : iterable of str
        The class's descriptions and aliases; those of at most :data:`MAX_FORM_WORDS` words are forms too.
    """
    texts: list[str] = []
    for d in [name, *descriptions]:
        d = str(d)
        if d is not name and len(d.split()) > MAX_FORM_WORDS:
            continue
        for v in _variants(d):
            texts.extend(_sentence(v))
    seen: set[str] = set()
    out = []
    for t in texts:
        if t not in seen:
            seen.add(t)
            out.append(t)
    return out


def forms_table(names: Sequence[str], descriptions: dict[str, list[str]] | None = None) -> list[list[str]]:
    """:func:`spoken_forms` of every class."""
    descriptions = descriptions or {}
    return [spoken_forms(n, descriptions.get(n, ())) for n in names]
