"""Which language a text is in, offline (py3langid ships its model inside the package)."""

from __future__ import annotations

from functools import lru_cache

MIN_LETTERS = 12  # shorter texts are guesses, not detections


@lru_cache(maxsize=1)
def _identifier():
    """The model loads once per process (about half a second)."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def detect_language(text: str) -> str | None:
    """An ISO 639-1 code, or None when the text is too short or too mixed to tell."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None
    language, confidence = _identifier().classify(text)
    return language if confidence >= 0.5 else None


def normalise_language(code: str | None) -> str | None:
    """A feed's <language> such as 'en-GB' or 'pt_BR' as the list setting spells it ('en', 'pt')."""
    if not code:
        return None
    base = code.strip().replace("_", "-").split("-", 1)[0].lower()
    return base if 2 <= len(base) <= 3 and base.isalpha() else None
