"""DKIM keys from the DKIM_* settings: loaded once, checked so a bad key stops startup with one line."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

if TYPE_CHECKING:
    from service.core.config.settings import Settings

MIN_RSA_BITS = 1024  # RFC 8301: verifiers must refuse smaller keys; 2048 is what we generate and recommend
_SELECTOR = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9_-]*[A-Za-z0-9])?)*$")


class DkimSettingError(ValueError):
    """A DKIM setting that cannot work; the message names the setting and fits on one line."""


@dataclass(frozen=True)
class DkimKey:
    """One signing identity: a=, d=, s= and the private key that makes b=."""

    algorithm: str  # "rsa-sha256" or "ed25519-sha256"
    domain: str
    selector: str
    private_key: rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey

    def dns_record(self) -> tuple[str, str]:
        """(name, TXT value) to publish, e.g. ("s1._domainkey.example.org", "v=DKIM1; k=rsa; p=...")."""
        public = self.private_key.public_key()
        if isinstance(public, ed25519.Ed25519PublicKey):
            kind, raw = "ed25519", public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        else:
            kind, raw = (
                "rsa",
                public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo),
            )
        return f"{self.selector}._domainkey.{self.domain}", f"v=DKIM1; k={kind}; p={base64.b64encode(raw).decode()}"


def _ascii_domain(domain: str) -> str:
    """Lower-case A-label form (d= is ASCII), without a trailing dot."""
    try:
        return domain.strip().rstrip(".").encode("idna").decode("ascii").lower()
    except UnicodeError:
        return domain.strip().rstrip(".").lower()


def _load(setting: str, path: Path) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    """The PEM private key at path, or an error naming the setting (never the key)."""
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise DkimSettingError(f"{setting}: cannot read {path} ({error.strerror or error})") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except TypeError:
        raise DkimSettingError(f"{setting}: {path} is encrypted; give an unencrypted PEM private key") from None
    except ValueError:
        raise DkimSettingError(
            f"{setting}: {path} is not a PEM private key (openssl genrsa -out dkim.pem 2048)"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey):
        raise DkimSettingError(f"{setting}: {path} holds a {type(key).__name__}; DKIM signs with RSA or Ed25519")
    return key


def load_keys(
    *,
    private_key: Path | None,
    selector: str | None,
    domain: str | None,
    ed25519_key: Path | None,
    ed25519_selector: str | None,
    mail_domain: str,
) -> list[DkimKey]:
    """The signing keys (RSA first, then the optional Ed25519 one); [] when DKIM is not configured.

    All or nothing: one of DKIM_PRIVATE_KEY, DKIM_SELECTOR, DKIM_DOMAIN without the others is refused,
    and so is a d= that is neither MAIL_FROM's domain nor a parent of it: such a signature does not align
    with From for DMARC, which is what Gmail's and Yahoo's bulk-sender rules check.
    """
    given = {"DKIM_PRIVATE_KEY": private_key, "DKIM_SELECTOR": selector, "DKIM_DOMAIN": domain}
    if not any(given.values()):
        if ed25519_key or ed25519_selector:
            raise DkimSettingError(
                "DKIM_ED25519_KEY: a second signature needs DKIM_PRIVATE_KEY, DKIM_SELECTOR "
                "and DKIM_DOMAIN too (RSA is the one every receiver verifies)"
            )
        return []
    missing = [name for name, value in given.items() if not value]
    if missing:
        raise DkimSettingError(
            f"{missing[0]}: must be set with the other DKIM settings (DKIM_PRIVATE_KEY, "
            "DKIM_SELECTOR and DKIM_DOMAIN go together)"
        )
    assert private_key and selector and domain  # for mypy: checked just above
    d = _ascii_domain(domain)
    sender = _ascii_domain(mail_domain)
    if "." not in d:
        raise DkimSettingError(f"DKIM_DOMAIN: {domain} is not a domain receivers can look a key up under")
    if not (sender == d or sender.endswith("." + d)):
        raise DkimSettingError(
            f"DKIM_DOMAIN: {domain} is neither MAIL_FROM's domain ({mail_domain}) nor a parent "
            "of it, so the signature would not align with From for DMARC"
        )
    keys = [_key("DKIM_PRIVATE_KEY", "DKIM_SELECTOR", private_key, selector, d, rsa.RSAPrivateKey)]
    if ed25519_key or ed25519_selector:
        if not (ed25519_key and ed25519_selector):
            name = "DKIM_ED25519_SELECTOR" if ed25519_key else "DKIM_ED25519_KEY"
            raise DkimSettingError(f"{name}: DKIM_ED25519_KEY and DKIM_ED25519_SELECTOR go together")
        keys.append(
            _key(
                "DKIM_ED25519_KEY", "DKIM_ED25519_SELECTOR", ed25519_key, ed25519_selector, d, ed25519.Ed25519PrivateKey
            )
        )
    return keys


def _key(setting: str, selector_setting: str, path: Path, selector: str, domain: str, kind: type) -> DkimKey:
    """One checked key: the right type, RSA of at least MIN_RSA_BITS, a selector that is a DNS name."""
    if not _SELECTOR.match(selector):
        raise DkimSettingError(f"{selector_setting}: {selector!r} is not a DNS label (letters, digits, - and _)")
    key = _load(setting, path)
    if not isinstance(key, kind):
        wanted = "an RSA key" if kind is rsa.RSAPrivateKey else "an Ed25519 key"
        raise DkimSettingError(
            f"{setting}: {path} is not {wanted} (RSA goes in DKIM_PRIVATE_KEY, Ed25519 in DKIM_ED25519_KEY)"
        )
    if isinstance(key, rsa.RSAPrivateKey):
        if key.key_size < MIN_RSA_BITS:
            raise DkimSettingError(
                f"{setting}: the RSA key has {key.key_size} bits; receivers refuse fewer than {MIN_RSA_BITS} (use 2048)"
            )
        return DkimKey("rsa-sha256", domain, selector, key)
    return DkimKey("ed25519-sha256", domain, selector, key)


def keys_for(settings: Settings) -> list[DkimKey]:
    """The configured keys, checked ([] when DKIM is off); raises DkimSettingError naming the bad setting."""
    return load_keys(
        private_key=settings.dkim_private_key,
        selector=settings.dkim_selector,
        domain=settings.dkim_domain,
        ed25519_key=settings.dkim_ed25519_key,
        ed25519_selector=settings.dkim_ed25519_selector,
        mail_domain=settings.mail_domain,
    )
