"""Keeping the catalogs whole: extract the texts readers see, merge them into every .po, and list what is missing.

`make catalogs` runs this after a text changes; the test suite calls `missing()` so a text without a translation
fails the build instead of showing English on a Ukrainian page.
"""

from __future__ import annotations

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import CommandLineInterface, parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po

from service.core.config import REPO_ROOT
from service.i18n.locales import DEFAULT, DOMAIN, LANGUAGES, LOCALE_DIR

# The Python helpers that take a message: translate(language, msg), translate_plural(language, one, many, n),
# tr(request, msg); N_(msg) and the templates' _/gettext/ngettext are among Babel's defaults.
KEYWORDS = ("translate:2", "translate_plural:2,3", "tr:2")
MAPPING = REPO_ROOT / "babel.cfg"
TEMPLATE = LOCALE_DIR.parent / "messages.pot"


def po_path(language: str) -> Path:
    """Where a language's catalog source lives."""
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def extracted() -> set[str | tuple[str, ...]]:
    """Every message id the templates and the Python code use, as Babel extracts them."""
    with MAPPING.open() as mapping:
        method_map, options_map = parse_mapping_cfg(mapping, str(MAPPING))
    keywords = {**DEFAULT_KEYWORDS, **parse_keywords(KEYWORDS)}
    return {
        message for _, _, message, _, _ in extract_from_dir(str(REPO_ROOT), method_map, options_map, keywords=keywords)
    }


def untranslated(catalog: Catalog, wanted: set[str | tuple[str, ...]]) -> list[str]:
    """The wanted ids the catalog lacks, or holds with an empty or fuzzy translation."""
    missing = []
    for message_id in sorted(wanted, key=str):
        held = catalog.get(message_id[0] if isinstance(message_id, tuple) else message_id)
        forms = held.string if held is not None else ""
        done = all(forms) if isinstance(forms, tuple) else bool(forms)
        if held is None or held.fuzzy or not done:
            missing.append(message_id[0] if isinstance(message_id, tuple) else message_id)
    return missing


def missing() -> dict[str, list[str]]:
    """{language: ids without a translation} for every language but English, the source."""
    wanted = extracted()
    found = {}
    for language in LANGUAGES:
        if language == DEFAULT:
            continue
        with po_path(language).open("rb") as source:
            gaps = untranslated(read_po(source, locale=language), wanted)
        if gaps:
            found[language] = gaps
    return found


def main() -> None:
    """Extract into messages.pot and merge into every language's .po (new texts arrive empty, for translating)."""
    cli = CommandLineInterface()
    cli.run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            str(MAPPING),
            *(f"-k{k}" for k in KEYWORDS),
            "--no-location",
            "--sort-output",
            "--omit-header",
            "-o",
            str(TEMPLATE),
            str(REPO_ROOT),
        ]
    )
    cli.run(["pybabel", "-q", "update", "--no-wrap", "-i", str(TEMPLATE), "-d", str(LOCALE_DIR), "-D", DOMAIN])
    for language, gaps in missing().items():
        print(f"{language}: {len(gaps)} texts to translate in {po_path(language).relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
