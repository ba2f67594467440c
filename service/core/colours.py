"""Accent colours: #rrggbb only, and dark enough that white button text on them passes WCAG AA (4.5:1)."""

from __future__ import annotations

import re

from service.core.errors import InvalidInput

HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
AA_NORMAL_TEXT = 4.5  # button labels are 16 px bold: "normal" text under WCAG 2.x


def _channel(value: int) -> float:
    """sRGB channel to linear light (WCAG 2.x relative luminance)."""
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """WCAG relative luminance of #rrggbb."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast_with_white(colour: str) -> float:
    """The contrast ratio of white text on this colour (1 to 21)."""
    return 1.05 / (luminance(colour) + 0.05)


def clean_accent(raw: str | None) -> str:
    """'' (use the default), or a lower-case #rrggbb that keeps white text readable; else a one-line error."""
    colour = (raw or "").strip()
    if not colour:
        return ""
    if not HEX_COLOUR.fullmatch(colour):
        raise InvalidInput(f"The accent colour must look like #1a5c8e (a # and six hex digits), not {colour!r}.")
    ratio = contrast_with_white(colour)
    if ratio < AA_NORMAL_TEXT:
        raise InvalidInput(
            f"The accent colour {colour} is too light: white button text on it has a contrast of "
            f"{ratio:.2f}:1, and WCAG AA needs {AA_NORMAL_TEXT}:1. Choose a darker colour."
        )
    return colour.lower()
