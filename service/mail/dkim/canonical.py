"""RFC 6376 3.4 "relaxed" canonicalisation of headers and body, on bytes with CRLF line ends."""

from __future__ import annotations

import re

CRLF = b"\r\n"
_WSP_RUN = re.compile(rb"[ \t]+")
_TRAILING_WSP = re.compile(rb"[ \t]+(?=\r\n)")
_UNFOLD = re.compile(rb"\r\n(?=[ \t])")
_HEADER_START = re.compile(rb"(?:^|(?<=\r\n))(?=[^ \t\r\n])")


def relaxed_header(line: bytes) -> bytes:
    """One header field (name, colon, value, folded or not, with or without its CRLF) in relaxed form with CRLF."""
    name, _, value = line.partition(b":")
    value = _WSP_RUN.sub(b" ", _UNFOLD.sub(b"", value.rstrip(b"\r\n"))).strip(b" ")
    return name.rstrip(b" \t").lower() + b":" + value + CRLF


def split_headers(block: bytes) -> list[bytes]:
    """The fields of a header block (CRLF line ends, no blank line), each with its folding and final CRLF."""
    starts = [match.start() for match in _HEADER_START.finditer(block)]
    return [block[start:end] for start, end in zip(starts, [*starts[1:], len(block)], strict=True)]


def header_map(block: bytes) -> dict[bytes, bytes]:
    """Lower-case name -> relaxed field, the last of each name winning (the one a verifier picks first)."""
    return {field.partition(b":")[0].strip().lower(): relaxed_header(field) for field in split_headers(block)}


def relaxed_lines(piece: bytes) -> bytes:
    """Relaxed body form of whole lines (a piece that starts at a line start and ends in CRLF).

    Line-aligned pieces canonicalise independently, so a body built from pieces can be hashed piece by
    piece; only the body's end needs relaxed_body's treatment of trailing empty lines.
    """
    if b" " not in piece and b"\t" not in piece:
        return piece
    return _WSP_RUN.sub(b" ", _TRAILING_WSP.sub(b"", piece))


def relaxed_body(body: bytes) -> bytes:
    """A whole body in relaxed form: WSP runs to one space, none at line ends, no empty lines at the end."""
    if body and not body.endswith(CRLF):
        body += CRLF
    body = relaxed_lines(body)
    while body.endswith(CRLF + CRLF):
        body = body[:-2]
    return b"" if body == CRLF else body
