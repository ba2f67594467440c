"""Per-message DKIM cost, run by hand: our edition render with and without signing, and dkimpy's sign.

    .venv/bin/python bench/dkim_cost.py [--messages 2000]

Builds a 10-story edition in a throwaway SQLite database, then times EditionMail.render per reader without
DKIM, with RSA 2048, and with RSA 2048 plus Ed25519, and dkimpy's `dkim.sign` (pure-Python RSA) on the same
message. The difference between the first two is what signing adds per message. Prints µs per message.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa  # noqa: E402

from service.mail.dkim.signer import SIGNED  # noqa: E402  dkimpy signs the headers our signer signs


def _pem(key) -> bytes:
    """Unencrypted PKCS#8."""
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _per_message(render, count: int) -> float:
    """CPU µs per call of render(i), best of three rounds (CPU time: other processes on the machine do not count)."""
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        for number in range(count):
            render(number)
        best = min(best, (time.process_time() - started) / count * 1e6)
    return best


def main() -> None:
    """Time each variant and print one line per variant."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=2000)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-dkim-"))
    (folder / "rsa.pem").write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    (folder / "ed.pem").write_bytes(_pem(ed25519.Ed25519PrivateKey.generate()))
    os.environ.update(
        {
            "ENVIRONMENT": "bench",
            "DATA_DIR": str(folder),
            "SECRET_KEY": "bench-secret-key-0123456789",
            "BASE_URL": "https://news.example.org",
            "MAIL_FROM": "World News daily <news@news.example.org>",
            "DATABASE_URL": f"sqlite:///{folder / 'bench.db'}",
        }
    )
    import dkim

    from service.core.config import load_settings
    from service.core.db import session_scope
    from service.delivery.message import EditionMail, Recipient
    from service.editions import build_edition
    from service.lists.rules import DEMO_LIST, create_list
    from service.models import utcnow
    from service.ops import migrate
    from tests.support.edition_stories import day_of_stories

    migrate.upgrade(os.environ["DATABASE_URL"])
    plain = load_settings()
    keys = {"dkim_private_key": folder / "rsa.pem", "dkim_selector": "bench", "dkim_domain": "news.example.org"}
    with_rsa = load_settings(**keys)
    with_both = load_settings(**keys, dkim_ed25519_key=folder / "ed.pem", dkim_ed25519_selector="ed")
    with session_scope(os.environ["DATABASE_URL"]) as session:
        mailing_list = create_list(session, **DEMO_LIST)
        day_of_stories(session, 10, hostile=False)
        edition = build_edition(session, settings=plain, mailing_list=mailing_list, day=utcnow().date())
        mails = {
            name: EditionMail(settings, edition, mailing_list)
            for name, settings in (("unsigned", plain), ("rsa", with_rsa), ("rsa+ed25519", with_both))
        }
    readers = [Recipient(n, f"reader{n}@example.org", f"Reader {n}") for n in range(args.messages)]
    timings = {
        name: _per_message(lambda n, mail=mail: mail.render(readers[n]), args.messages) for name, mail in mails.items()
    }
    message = mails["unsigned"].render(readers[0]).replace(b"\r\n..", b"\r\n.")
    private = (folder / "rsa.pem").read_bytes()
    dkimpy = _per_message(
        lambda n: dkim.sign(
            message,
            b"bench",
            b"news.example.org",
            private,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=list(SIGNED),
        ),
        max(50, args.messages // 20),
    )
    print(f"message {len(message)} bytes, {args.messages} readers")
    print(f"render unsigned      {timings['unsigned']:8.0f} µs/message")
    print(
        f"render + RSA 2048    {timings['rsa']:8.0f} µs/message "
        f"(signing adds {timings['rsa'] - timings['unsigned']:.0f})"
    )
    print(
        f"render + RSA+Ed25519 {timings['rsa+ed25519']:8.0f} µs/message "
        f"(signing adds {timings['rsa+ed25519'] - timings['unsigned']:.0f})"
    )
    print(f"dkimpy dkim.sign     {dkimpy:8.0f} µs/message (signing alone, RSA 2048)")


if __name__ == "__main__":
    main()
