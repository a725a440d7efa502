"""Built-in prompt template sets for text classes. ``{}`` is replaced by the class name."""

from __future__ import annotations

from .errors import LabelError

TEMPLATE_SETS: dict[str, list[str]] = {
    # the class name alone
    "name": ["{}"],
    # generic: works for topics, intents and sentiments alike
    "default": [
        "{}",
        "This text is about {}.",
        "This is an example of {}.",
        "A message about {}.",
    ],
    "topic": [
        "{}",
        "This article is about {}.",
        "A news story about {}.",
        "The topic of this text is {}.",
        "{} news.",
    ],
    "sentiment": [
        "{}",
        "This review is {}.",
        "The sentiment of this text is {}.",
        "A {} opinion.",
        "It was {}.",
    ],
    # images: a compact subset of CLIP's ImageNet prompts (the full 80: concepts.imagenet_templates())
    "photo": [
        "a photo of a {}.",
        "a blurry photo of a {}.",
        "a low resolution photo of a {}.",
        "a close-up photo of a {}.",
        "a photo of the large {}.",
        "a photo of the small {}.",
        "a bright photo of a {}.",
        "a cropped photo of a {}.",
    ],
    "intent": [
        "{}",
        "The customer is asking about {}.",
        "A question about {}.",
        "I need help with {}.",
    ],
}


# the default for text: every text set above joined (15 prompts). Chosen on dev data across task kinds
# (SST-2 dev, a Banking77 train sample, BBC News, WordNet lexicographer classes): +5.3 / -0.3 / +6.8 / +4.7
# accuracy points over the name alone with MiniLM, within 1.8 points of the best set on each (lexnames: intent 62.1)
# (docs/benchmarks.md, "Names only").
TEMPLATE_SETS["ensemble"] = list(dict.fromkeys(
    TEMPLATE_SETS["name"] + TEMPLATE_SETS["default"] + TEMPLATE_SETS["topic"] + TEMPLATE_SETS["sentiment"]
    + TEMPLATE_SETS["intent"]))

#: the ``ensemble`` set translated, prompt for prompt (same order), for text routed to the multilingual encoder in that
#: language (:meth:`transzero.LabelSpace.for_language`). On the dev suite's non-English sets with e5-small, names only:
#: translated vs English prompts, German news 10kGNAD / French SIB-200 / Chinese THUCNews / Chinese ChnSentiCorp -
#: see docs/benchmarks.md, "The text dev suite". Measured for de, fr and zh only; the other translations follow the
#: same sentences and were not tuned on any data.
TRANSLATED_TEMPLATES: dict[str, list[str]] = {
    "de": ["{}", "In diesem Text geht es um {}.", "Dies ist ein Beispiel für {}.", "Eine Nachricht über {}.",
           "In diesem Artikel geht es um {}.", "Eine Nachricht zum Thema {}.", "Das Thema dieses Textes ist {}.",
           "{} Nachrichten.", "Diese Bewertung ist {}.", "Die Stimmung dieses Textes ist {}.", "Eine {} Meinung.",
           "Es war {}.", "Der Kunde fragt nach {}.", "Eine Frage zu {}.", "Ich brauche Hilfe bei {}."],
    "fr": ["{}", "Ce texte parle de {}.", "Ceci est un exemple de {}.", "Un message à propos de {}.",
           "Cet article parle de {}.", "Une actualité sur {}.", "Le sujet de ce texte est {}.", "Actualités {}.",
           "Cet avis est {}.", "Le sentiment de ce texte est {}.", "Une opinion {}.", "C'était {}.",
           "Le client pose une question sur {}.", "Une question sur {}.", "J'ai besoin d'aide pour {}."],
    "es": ["{}", "Este texto trata sobre {}.", "Este es un ejemplo de {}.", "Un mensaje sobre {}.",
           "Este artículo trata sobre {}.", "Una noticia sobre {}.", "El tema de este texto es {}.", "Noticias de {}.",
           "Esta reseña es {}.", "El sentimiento de este texto es {}.", "Una opinión {}.", "Fue {}.",
           "El cliente pregunta por {}.", "Una pregunta sobre {}.", "Necesito ayuda con {}."],
    "it": ["{}", "Questo testo parla di {}.", "Questo è un esempio di {}.", "Un messaggio su {}.",
           "Questo articolo parla di {}.", "Una notizia su {}.", "L'argomento di questo testo è {}.", "Notizie di {}.",
           "Questa recensione è {}.", "Il sentimento di questo testo è {}.", "Un'opinione {}.", "È stato {}.",
           "Il cliente chiede informazioni su {}.", "Una domanda su {}.", "Ho bisogno di aiuto con {}."],
    "pt": ["{}", "Este texto é sobre {}.", "Este é um exemplo de {}.", "Uma mensagem sobre {}.",
           "Este artigo é sobre {}.", "Uma notícia sobre {}.", "O tema deste texto é {}.", "Notícias de {}.",
           "Esta avaliação é {}.", "O sentimento deste texto é {}.", "Uma opinião {}.", "Foi {}.",
           "O cliente está perguntando sobre {}.", "Uma pergunta sobre {}.", "Preciso de ajuda com {}."],
    "nl": ["{}", "Deze tekst gaat over {}.", "Dit is een voorbeeld van {}.", "Een bericht over {}.",
           "Dit artikel gaat over {}.", "Een nieuwsbericht over {}.", "Het onderwerp van deze tekst is {}.",
           "{} nieuws.", "Deze recensie is {}.", "Het sentiment van deze tekst is {}.", "Een {} mening.",
           "Het was {}.", "De klant vraagt naar {}.", "Een vraag over {}.", "Ik heb hulp nodig met {}."],
    "zh": ["{}", "这段文字是关于{}的。", "这是{}的一个例子。", "一条关于{}的消息。",
           "这篇文章是关于{}的。", "一则关于{}的新闻。", "这段文字的主题是{}。", "{}新闻。",
           "这条评论是{}的。", "这段文字的情感是{}。", "一个{}的观点。", "它是{}的。",
           "客户在询问{}。", "一个关于{}的问题。", "我需要关于{}的帮助。"],
    "ja": ["{}", "この文章は{}についてです。", "これは{}の一例です。", "{}に関するメッセージ。",
           "この記事は{}についてです。", "{}に関するニュース。", "この文章のテーマは{}です。", "{}のニュース。",
           "このレビューは{}です。", "この文章の感情は{}です。", "{}な意見。", "それは{}でした。",
           "お客様は{}について尋ねています。", "{}に関する質問。", "{}について助けが必要です。"],
    "ru": ["{}", "Этот текст о {}.", "Это пример {}.", "Сообщение о {}.",
           "Эта статья о {}.", "Новость о {}.", "Тема этого текста: {}.", "Новости: {}.",
           "Этот отзыв {}.", "Тональность этого текста: {}.", "Мнение: {}.", "Это было {}.",
           "Клиент спрашивает о {}.", "Вопрос о {}.", "Мне нужна помощь с {}."],
}

#: the set used when no templates are given: ``ensemble`` for text encoders; image encoders with a
#: text tower (CLIP-like) get ``photo`` instead (:meth:`transzero.LabelSpace.for_modality`)
DEFAULT_TEMPLATES = "ensemble"
DEFAULT_TEMPLATES_BY_MODALITY = {"text": "ensemble", "image": "photo", "audio": "name"}


def resolve_templates(templates: str | list[str] | tuple[str, ...] | None) -> list[str]:
    """A template set name, or a list of templates, checked to contain ``{}`` exactly once."""
    if templates is None:
        return list(TEMPLATE_SETS[DEFAULT_TEMPLATES])
    if isinstance(templates, str):
        if templates in TEMPLATE_SETS:
            return list(TEMPLATE_SETS[templates])
        if "{}" not in templates:
            raise LabelError(
                f"unknown template set {templates!r}; use one of {', '.join(TEMPLATE_SETS)} or a template with '{{}}'"
            )
        templates = [templates]
    out = list(templates)
    for t in out:
        if not isinstance(t, str) or t.count("{}") != 1:
            raise LabelError(f"template {t!r} must contain '{{}}' exactly once (where the class name goes)")
    return out
