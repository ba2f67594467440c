"""axe-core (from npm, pinned in tests/a11y/package-lock.json) run inside a playwright page, serious findings listed."""

from __future__ import annotations

from pathlib import Path

from playwright.sync_api import Page

AXE_JS = Path(__file__).resolve().parents[1] / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING = ("serious", "critical")


def install_axe(page: Page) -> None:
    """Make axe available in every document the page opens (an init script: the pages' strict CSP allows no
    injected <script> tag, and the CSP stays on so the test sees the pages as readers do)."""
    assert AXE_JS.is_file(), f"{AXE_JS} is missing: run `make install-dev` (npm ci in tests/a11y)"
    page.context.add_init_script(path=str(AXE_JS))


def axe_violations(page: Page, impacts: tuple[str, ...] = BLOCKING) -> list[dict]:
    """The page's axe violations of the given impacts (WCAG 2.x A and AA rules plus axe's best practices)."""
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [violation for violation in results["violations"] if violation.get("impact") in impacts]


def describe(violations: list[dict]) -> str:
    """One line per violation and one per offending element, with its selector and axe's summary of the fix."""
    lines = []
    for violation in violations:
        lines.append(f"  {violation['id']} ({violation['impact']}): {violation['help']}")
        for node in violation["nodes"]:
            summary = " ".join(node.get("failureSummary", "").split())
            lines.append(f"    at {', '.join(map(str, node['target']))}: {summary}")
    return "\n".join(lines)
