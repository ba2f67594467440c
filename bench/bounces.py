"""Score the bounce parser and the one policy on the fixtures: readers right / total, by MTA family.

Run by hand or in CI: `.venv/bin/python bench/bounces.py [--fixtures DIR] [--verbose]`. DIR holds .eml files and
a manifest.json listing each file's recipients (the readers a person reading it finds failed or complaining), its
class (hard, soft, policy, complaint, delay, unparsed) and its MTA family. A reader is right when the parser names
it with that class; every address the parser names that the manifest does not is a reader wrongly acted upon, and
counts as one more wrong. A file with no recipient counts as one reader (right when nothing is named, or for an
unparsed file, when nothing is read). Exit status 1 below --target (0.95).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.bounces.parse import parse

DEFAULT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "bounces"


def family(entry: dict) -> str:
    """The MTA family of a fixture: its manifest field, else the file name's second word (flufl_qmail_01 -> qmail)."""
    if entry.get("family"):
        return str(entry["family"])
    parts = entry["file"].split("_")
    return parts[1] if parts[0] == "flufl" and len(parts) > 2 else parts[0]


def score(folder: Path, entry: dict) -> tuple[int, int, list[str]]:
    """(right, total, what went wrong) for one fixture."""
    reports = parse((folder / entry["file"]).read_bytes()).reports
    expected = {address.lower() for address in entry["recipients"]}
    got: dict[str | None, set[str]] = defaultdict(set)
    for report in reports:
        got[report.recipient].add(report.verdict.bounce.value)
    if entry["class"] == "unparsed":
        return (1, 1, []) if not reports else (0, 1, [f"read {dict(got)}, expected unparsed"])
    if not expected:  # a redacted complaint: the class alone matters, for the one reader it is about
        classes = set().union(*got.values()) if got else set()
        return (1, 1, []) if classes == {entry["class"]} else (0, 1, [f"got {classes or 'nothing'}"])
    right, wrong = 0, []
    for address in sorted(expected):
        if got.get(address) == {entry["class"]}:
            right += 1
        else:
            wrong.append(f"{address}: got {sorted(got.get(address, [])) or 'nothing'}, expected {entry['class']}")
    extra = sorted(str(address) for address in got if address not in expected)
    wrong += [f"{address}: named but did not fail" for address in extra]
    return right, len(expected) + len(extra), wrong


def main() -> int:
    """Print the score per family and overall; exit 1 below the target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fixtures", type=Path, default=DEFAULT)
    parser.add_argument("--target", type=float, default=0.95)
    parser.add_argument("--verbose", action="store_true", help="print every wrong reader")
    args = parser.parse_args()
    manifest = json.loads((args.fixtures / "manifest.json").read_text())["fixtures"]
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for entry in manifest:
        right, total, wrong = score(args.fixtures, entry)
        row = totals[family(entry)]
        row[0], row[1], row[2] = row[0] + right, row[1] + total, row[2] + 1
        if wrong and args.verbose:
            print(f"  {entry['file']}: " + "; ".join(wrong))
    print(f"{'family':<14} {'files':>5} {'readers right / total':>22}")
    for name in sorted(totals):
        right, total, files = totals[name]
        print(f"{name:<14} {files:>5} {right:>12} / {total:<5} {right / total:6.1%}")
    right, total = sum(r[0] for r in totals.values()), sum(r[1] for r in totals.values())
    print(f"{'all':<14} {len(manifest):>5} {right:>12} / {total:<5} {right / total:6.1%}")
    return 0 if right / total >= args.target else 1


if __name__ == "__main__":
    sys.exit(main())
