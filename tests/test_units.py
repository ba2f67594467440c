"""Pure rules, no database: settings safety, SMTP_URL parsing, link tokens, address normalisation."""

from itertools import permutations

import pytest
from pydantic import ValidationError

from service.core.addresses import normalise_address
from service.core.config import ConfigError, Settings, SmtpTarget
from service.core.errors import InvalidAddress, InvalidToken
from service.core.tokens import Purpose, make_token, read_token

SECRET = "unit-test-secret-0123456789abcdef"


def settings(**values) -> Settings:
    """Settings from these values only (init values win over the environment; no .env file)."""
    return Settings(_env_file=None, **values)


@pytest.mark.parametrize("environment", ["production", "staging", "test"])
def test_a_missing_secret_key_is_refused_outside_development(environment, tmp_path):
    with pytest.raises((ConfigError, ValidationError), match="SECRET_KEY must be set"):
        settings(environment=environment, secret_key="", data_dir=tmp_path)


def test_development_makes_its_own_random_key_once_per_data_dir(tmp_path):
    first = settings(environment="development", secret_key="", data_dir=tmp_path / "a").secret_key
    again = settings(environment="development", secret_key="", data_dir=tmp_path / "a").secret_key
    other = settings(environment="development", secret_key="", data_dir=tmp_path / "b").secret_key
    assert first == again, "web, worker and beat must sign with the same key"
    assert first != other and len(first) >= 32, "no two installs may share a key"
    assert (tmp_path / "a" / "secret_key").stat().st_mode & 0o077 == 0, "only the owner may read the key"


def test_own_secret_key_is_accepted_in_production():
    assert settings(environment="production", secret_key=SECRET).environment == "production"


def test_short_secret_key_is_refused():
    with pytest.raises((ConfigError, ValidationError), match="at least 32 characters"):
        settings(environment="production", secret_key="short")
    with pytest.raises((ConfigError, ValidationError), match="at least 16 characters"):
        settings(environment="test", secret_key="short")


def test_smtp_url_with_credentials_and_starttls():
    target = SmtpTarget.from_url("smtp://user:p%40ss@mail.example.org:2525?starttls=true")
    assert (target.host, target.port) == ("mail.example.org", 2525)
    assert (target.username, target.password) == ("user", "p@ss")
    assert target.starttls is True and target.implicit_tls is False


def test_smtps_url_defaults_to_port_465_with_implicit_tls():
    target = SmtpTarget.from_url("smtps://mail.example.org")
    assert (target.host, target.port) == ("mail.example.org", 465)
    assert target.implicit_tls is True and target.starttls is False
    assert target.username is None and target.password is None


def test_plain_smtp_url_defaults_to_port_25_without_tls():
    target = SmtpTarget.from_url("smtp://127.0.0.1")
    assert (target.port, target.implicit_tls, target.starttls) == (25, False, False)


@pytest.mark.parametrize("url", ["http://mail.example.org", "smtp://", "mail.example.org:25"])
def test_unusable_smtp_url_is_refused(url):
    with pytest.raises(ConfigError):
        SmtpTarget.from_url(url)


def test_settings_refuse_an_unusable_smtp_url_at_startup():
    with pytest.raises((ConfigError, ValidationError), match="SMTP_URL"):
        settings(smtp_url="https://mail.example.org")


@pytest.mark.parametrize("purpose", list(Purpose))
def test_token_round_trip(purpose):
    payload = {"s": 42, "l": [1, 2]}
    assert read_token(SECRET, purpose, make_token(SECRET, purpose, payload)) == payload


@pytest.mark.parametrize("made_for, used_for", list(permutations(Purpose, 2)))
def test_token_of_one_purpose_is_refused_for_another(made_for, used_for):
    token = make_token(SECRET, made_for, {"s": 42})
    with pytest.raises(InvalidToken):
        read_token(SECRET, used_for, token)


def test_token_signed_with_another_secret_is_refused():
    token = make_token("another-secret-0123456789abcdef", Purpose.preferences, {"s": 42})
    with pytest.raises(InvalidToken):
        read_token(SECRET, Purpose.preferences, token)


def test_tampered_token_is_refused():
    token = make_token(SECRET, Purpose.unsubscribe, {"s": 42, "l": 1})
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(InvalidToken):
        read_token(SECRET, Purpose.unsubscribe, tampered)


def test_token_without_a_subscriber_id_is_refused():
    with pytest.raises(InvalidToken):
        read_token(SECRET, Purpose.confirm, make_token(SECRET, Purpose.confirm, {"s": "42"}))


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("Reader@Example.COM", "reader@example.com"),
        ("  reader@example.com \t", "reader@example.com"),
        ("READER@EXAMPLE.COM", "reader@example.com"),
    ],
)
def test_normalise_address_lower_cases_and_trims(raw, expected):
    assert normalise_address(raw) == expected


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "   ",
        "not-an-address",
        "reader@",
        "@example.com",
        "reader@@example.com",
        "reader example@example.com",
        "reader@example.com\r\nBcc: victim@example.com",
        "reader@exa\nmple.com",
        "a" * 250 + "@example.com",
        "reader@localhost",
    ],
)
def test_normalise_address_rejects_junk(junk):
    with pytest.raises(InvalidAddress):
        normalise_address(junk)
