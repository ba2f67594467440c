"""Reading an import file: its lines as text and its data rows, each with the line it starts on and its own text."""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from service.core.errors import InvalidInput

VALUE_KEPT = 300  # characters of a rejected row kept for the report (the row as the file had it)
NOT_UTF8 = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bytes that are not UTF-8


def utf8_lines(handle: BinaryIO | Iterable[bytes]) -> Iterator[str]:
    """The file's lines as text, one at a time, ended by LF, CRLF or CR (bytes that are not UTF-8 kept as surrogates).

    A row carrying such bytes is rejected by line in the report, and the rows around it are imported.
    """
    number = 0
    for chunk in handle:
        for raw in chunk.splitlines(keepends=True):  # also splits old Mac CR-only files
            number += 1
            yield raw.decode("utf-8-sig" if number == 1 else "utf-8", errors="surrogateescape")


class _Tap:
    """Hands lines to the csv reader and keeps those it took since the last call of `taken` (one row's text)."""

    def __init__(self, lines: Iterable[str]):
        self.lines = iter(lines)
        self.kept: list[str] = []

    def __iter__(self) -> _Tap:
        return self

    def __next__(self) -> str:
        line = next(self.lines)
        self.kept.append(line)
        return line

    def taken(self) -> str:
        """The row as the file had it (bytes that are not UTF-8 shown as U+FFFD), cut to VALUE_KEPT characters."""
        text = "".join(self.kept).rstrip("\r\n")
        self.kept.clear()
        text = text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        return text if len(text) <= VALUE_KEPT else text[: VALUE_KEPT - 1] + "…"


def data_rows(lines: Iterable[str]) -> Iterator[tuple[int, dict[str, str] | str, str]]:
    """Data rows with the line each starts on (a quoted name may span lines), or why the row cannot be read; each
    with its text as the file had it."""
    tap = _Tap(lines)
    reader = csv.reader(tap)
    try:
        header = [name.strip().lower() for name in next(reader, [])]
    except csv.Error as error:
        raise InvalidInput(f"The header row cannot be read as CSV: {error}.") from None
    if "email" not in header:
        raise InvalidInput("The CSV needs a header row with an 'email' column (and optionally name, timezone).")
    tap.taken()
    while True:
        line = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:  # a field over the csv module's limit, say: this row only
            yield line, f"cannot be read as CSV: {error}.", tap.taken()
            continue
        text = tap.taken()
        if any(NOT_UTF8.search(value) for value in values):
            yield line, "not UTF-8 text: save the file as UTF-8 (CSV UTF-8) and import it again.", text
        elif any(value.strip() for value in values):
            yield line, {name: value.strip() for name, value in zip(header, values, strict=False)}, text
