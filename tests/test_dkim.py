"""DKIM: every email we send carries signatures that dkimpy's verifier accepts, and only untampered ones.

Tasks are reached through the module: a task object at module level would make pytest's collection
finalise the Celery app before the test settings are in the environment. The verifier is dkimpy
(`dkim.DKIM.verify`), given the test keys' TXT records through its own dnsfunc hook.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from service import tasks
from service.core.config import ConfigError, load_settings
from service.core.db import engine_for
from service.delivery.message import EditionMail, Recipient
from service.delivery.schedule import send_now
from service.editions import build_edition
from service.mail import emails, smtp
from service.mail.dkim import keys_for
from service.models import Subscriber, utcnow
from service.readers import tasks as reader_tasks
from tests.support.edition_stories import day_of_stories
from tests.support.processes import Worker
from tests.support.readers import add_readers, wait_until_complete

WEAK_RSA_512 = b"""-----BEGIN PRIVATE KEY-----
MIIBVAIBADANBgkqhkiG9w0BAQEFAASCAT4wggE6AgEAAkEAl1WrHbhTZCMuC9QE
b9UPdsybKiFefXhelMXOOz9fpMsUPUgWMpzJ8LBb3eegPBtRDtB+pXCOIpaEwxDO
f3FQFwIDAQABAkAGGTSxGOl7YpOLdHrNSue5oNsr4nZdVglxs1rxNkeTa2/CeaWR
c/iNJTr0dYahOB6B1WLUs7AxgQNPpu9d3Px5AiEAyKWTEAFaVP5szphcEettuktB
NVG2ODDy5yZkKVtd9z0CIQDBFXya4MDClBDxbvxglmWw8L2nJlAbeYTn5SgJ+IS5
4wIhAIxHTlEDUR9ZHcM2vC//FCEJ2hYoAai5eClpKt/LNB/VAiAG7GxRaWnAEGsj
HSWzmPEAjUFfswIAWjUn05HB+cVYnQIgU/Jeq/VaXQkULlVSdrLBnQPOx7cTK0YR
FVgVxSS/FZg=
-----END PRIVATE KEY-----
"""
NO_ENCRYPTION = serialization.NoEncryption()


def _pem(key) -> bytes:
    """An unencrypted PKCS#8 PEM of a private key."""
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, NO_ENCRYPTION)


@pytest.fixture(scope="module")
def key_files(tmp_path_factory) -> dict[str, str]:
    """DKIM settings with a fresh RSA 2048 key and an Ed25519 key, as an operator would write them."""
    folder = tmp_path_factory.mktemp("dkim")
    (folder / "rsa.pem").write_bytes(_pem(rsa.generate_private_key(public_exponent=65537, key_size=2048)))
    (folder / "ed25519.pem").write_bytes(_pem(ed25519.Ed25519PrivateKey.generate()))
    return {
        "DKIM_PRIVATE_KEY": str(folder / "rsa.pem"),
        "DKIM_SELECTOR": "news2026",
        "DKIM_DOMAIN": "news.example.org",
        "DKIM_ED25519_KEY": str(folder / "ed25519.pem"),
        "DKIM_ED25519_SELECTOR": "ed2026",
    }


@pytest.fixture(scope="module")
def dkim_settings(settings, key_files):
    """The test settings with DKIM on (both keys)."""
    return load_settings(**{name.lower(): value for name, value in key_files.items()})


@pytest.fixture(scope="module")
def dns(dkim_settings):
    """dkimpy's dnsfunc hook answering with our public keys' TXT records, as DNS would."""
    records = {
        f"{name}.".encode(): value.encode() for name, value in (key.dns_record() for key in keys_for(dkim_settings))
    }
    return lambda name, timeout=5: records.get(name)


@pytest.fixture(scope="module")
def dkim_worker(service_env, key_files, tmp_path_factory):
    """A real worker configured with the DKIM keys, on its own queue; returns the queue's name."""
    queue = f"{service_env['TASK_QUEUE']}-dkim"
    env = {**os.environ, **service_env, **key_files, "TASK_QUEUE": queue}
    worker = Worker(env, tmp_path_factory.mktemp("dkim-worker") / "worker.log", queue, concurrency=1).start()
    yield queue
    worker.stop()


def _verified(raw: bytes, dns) -> list[bool]:
    """dkimpy's verdict on each DKIM-Signature of a message, in order."""
    count = len(re.findall(rb"(?im)^DKIM-Signature:", raw.split(b"\r\n\r\n", 1)[0]))
    checker = dkim.DKIM(raw)
    verdicts = []
    for index in range(count):
        try:
            verdicts.append(checker.verify(idx=index, dnsfunc=dns))
        except dkim.DKIMException:  # a body hash mismatch is raised, as dkim.verify() turns it into False
            verdicts.append(False)
    return verdicts


def _tag(raw: bytes, tag: str, index: int = 0) -> str:
    """One tag of the index-th DKIM-Signature, unfolded."""
    fields = re.findall(rb"(?ims)^DKIM-Signature:(.*?)\r\n(?=\S)", raw)
    value = re.sub(rb"\s+", b"", fields[index]).decode()
    return dict(part.split("=", 1) for part in value.split(";") if part)[tag]


@pytest.mark.processes
def test_an_edition_sent_by_the_worker_verifies_with_both_keys(db, settings, world_news, dkim_worker, dns, mailbox):
    readers = add_readers(engine_for(settings.effective_database_url), world_news.id, 3)
    day_of_stories(db)
    edition, _ = send_now(settings, db, world_news, utcnow().date(), utcnow())
    tasks.drain_edition.apply_async(args=[edition.id], queue=dkim_worker)
    raw = mailbox.wait_for(readers[1], timeout=60)[0].raw
    wait_until_complete(engine_for(settings.effective_database_url), edition.id)

    assert _verified(raw, dns) == [True, True]
    assert (_tag(raw, "a", 0), _tag(raw, "a", 1)) == ("rsa-sha256", "ed25519-sha256")
    assert _tag(raw, "c") == "relaxed/relaxed" and _tag(raw, "d") == "news.example.org"
    signed = _tag(raw, "h").split(":")
    assert {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "list-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "feedback-id",
        "mime-version",
        "content-type",
    } <= set(signed)
    assert signed.count("from") == 2, "From is oversigned: a second From added later breaks the signature"
    feedback = re.search(rb"(?m)^Feedback-ID: (.*)\r$", raw).group(1).decode()
    assert feedback == f"edition-{edition.id}:world-news:newsletter:news.example.org"

    assert _verified(raw.replace(b"\r\nSubject: ", b"\r\nSubject: Re: ", 1), dns) == [False, False]
    assert _verified(raw.replace(b"List-Unsubscribe=One-Click", b"List-Unsubscribe=Two-Clicks", 1), dns) == [
        False,
        False,
    ], "List-Unsubscribe-Post is covered by the signature"
    head, body = raw.split(b"\r\n\r\n", 1)
    tampered = head + b"\r\n\r\n" + body.replace(b"unsubscribe", b"unsubscrib=\r\ne", 1)
    assert _verified(tampered, dns) == [False, False]
    assert _verified(raw.replace(b"Reader 1", b"Reader 2", 1), dns) == [False, False], "To is signed"
    assert _verified(head + b"\r\n\r\n" + body.replace(b"\r\n", b"  \r\n", 3), dns) == [True, True], (
        "relaxed body canonicalisation: trailing spaces do not matter"
    )


@pytest.mark.processes
def test_a_confirmation_email_sent_by_the_worker_verifies(db, settings, world_news, dkim_worker, dns, mailbox):
    [address] = add_readers(
        engine_for(settings.effective_database_url), world_news.id, 1, prefix="pending", status="unconfirmed"
    )
    reader = db.query(Subscriber).filter_by(email=address).one()
    reader_tasks.send_confirmation.apply_async(args=[reader.id, [world_news.id]], queue=dkim_worker)
    raw = mailbox.wait_for(address, timeout=30)[0].raw

    assert _verified(raw, dns) == [True, True]
    assert re.search(rb"(?m)^Feedback-ID: confirm:world-news:transactional:news\.example\.org\r$", raw)
    assert "feedback-id" in _tag(raw, "h").split(":")
    assert _verified(raw.replace(b"confirm", b"c0nfirm", 1), dns) == [False, False]


def test_the_fast_path_signs_every_kind_of_reader(db, settings, world_news, key_files, dns):
    """Folded List-Unsubscribe (with a mailto), an encoded name, an SMTPUTF8 address: all verify."""
    values = {name.lower(): value for name, value in key_files.items()}
    rsa_only = load_settings(
        **{
            **values,
            "dkim_ed25519_key": None,
            "dkim_ed25519_selector": None,
            "mail_unsubscribe_mailto": "unsubscribe@news.example.org",
        }
    )
    day_of_stories(db)
    edition = build_edition(db, settings=settings, mailing_list=world_news, day=utcnow().date())
    mail = EditionMail(rsa_only, edition, world_news)
    for recipient in (
        Recipient(1, "plain@example.org", ""),
        Recipient(2, "zoë@example.org", "Zoë  Ünal, Jr."),
        Recipient(3, "who@example.org", "A" * 120),
    ):
        raw = re.sub(rb"(?m)^\.\.", b".", mail.render(recipient))  # as the server takes it off the wire
        assert _verified(raw, dns) == [True], recipient


def test_without_dkim_settings_nothing_is_signed(db, settings, world_news):
    assert keys_for(settings) == []
    day_of_stories(db)
    edition = build_edition(db, settings=settings, mailing_list=world_news, day=utcnow().date())
    raw = EditionMail(settings, edition, world_news).render(Recipient(1, "a@example.org", "A"))
    assert b"DKIM-Signature" not in raw and b"\r\nFeedback-ID: " in raw
    reader = Subscriber(id=7, email="b@example.org", name="B")
    data, _ = smtp.wire_bytes(emails.confirmation_message(settings, reader, [world_news]))
    assert b"DKIM-Signature" not in data


def _error(**values) -> str:
    """The ConfigError that load_settings raises for these DKIM values."""
    with pytest.raises(ConfigError) as raised:
        load_settings(**values)
    return str(raised.value)


def test_bad_dkim_settings_stop_startup_with_one_line(settings, key_files, tmp_path: Path):
    good = {name.lower(): value for name, value in key_files.items() if "ED25519" not in name}
    (tmp_path / "notes.txt").write_text("not a key\n")
    (tmp_path / "weak.pem").write_bytes(WEAK_RSA_512)
    public = serialization.load_pem_private_key(Path(good["dkim_private_key"]).read_bytes(), None).public_key()
    (tmp_path / "public.pem").write_bytes(
        public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    cases = {
        "DKIM_PRIVATE_KEY: cannot read": {**good, "dkim_private_key": str(tmp_path / "missing.pem")},
        "DKIM_PRIVATE_KEY: " + str(tmp_path / "notes.txt") + " is not a PEM private key": {
            **good,
            "dkim_private_key": str(tmp_path / "notes.txt"),
        },
        "DKIM_PRIVATE_KEY: " + str(tmp_path / "public.pem") + " is not a PEM private key": {
            **good,
            "dkim_private_key": str(tmp_path / "public.pem"),
        },
        "DKIM_PRIVATE_KEY: the RSA key has 512 bits": {**good, "dkim_private_key": str(tmp_path / "weak.pem")},
        "DKIM_PRIVATE_KEY: " + key_files["DKIM_ED25519_KEY"] + " is not an RSA key": {
            **good,
            "dkim_private_key": key_files["DKIM_ED25519_KEY"],
        },
        "DKIM_SELECTOR: must be set": {**good, "dkim_selector": None},
        "DKIM_SELECTOR: 'bad selector' is not a DNS label": {**good, "dkim_selector": "bad selector"},
        "DKIM_DOMAIN: other.example is neither MAIL_FROM's domain": {**good, "dkim_domain": "other.example"},
        "DKIM_ED25519_SELECTOR: DKIM_ED25519_KEY and DKIM_ED25519_SELECTOR go together": {
            **good,
            "dkim_ed25519_key": key_files["DKIM_ED25519_KEY"],
        },
        "DKIM_ED25519_KEY: a second signature needs": {
            "dkim_ed25519_key": key_files["DKIM_ED25519_KEY"],
            "dkim_ed25519_selector": "ed",
        },
    }
    for start, values in cases.items():
        message = _error(**values)
        assert message.startswith(start) and "\n" not in message, message
    assert keys_for(load_settings(**{**good, "dkim_domain": "example.org"}))[0].domain == "example.org", (
        "a parent of MAIL_FROM's domain aligns (relaxed DMARC alignment)"
    )
