"""What makes an admin password acceptable: long enough, and not one that guessers try first."""

from __future__ import annotations

from zxcvbn import zxcvbn

from service.core.errors import InvalidInput

MIN_PASSWORD_LENGTH = 12
MIN_SCORE = 3  # zxcvbn's scale 0-4; 3 is about 10^8 guesses: common passwords, a word plus digits, keyboard runs fail
CHECKED_CHARS = 100  # zxcvbn's time grows with the length; the first 100 characters decide
OUR_WORDS = ("newsletter", "world news", "admin")


def check_password(password: str, *, email: str = "", what: str = "The password") -> None:
    """InvalidInput with one line when the password is too short or in zxcvbn's common lists (or built on the address).

    zxcvbn ships frequency lists (the 30,000 most common passwords from leaks, names, English words) and
    catches the usual disguises (l33t, reversal, repeats, dates, keyboard patterns).
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"{what} must be at least {MIN_PASSWORD_LENGTH} characters long.")
    local, _, domain = email.strip().lower().partition("@")
    result = zxcvbn(password[:CHECKED_CHARS], user_inputs=[word for word in (email, local, domain, *OUR_WORDS) if word])
    if result["score"] >= MIN_SCORE:
        return
    warning = str(result["feedback"].get("warning") or "").strip().rstrip(".")
    reason = f" ({warning[:1].lower()}{warning[1:]})" if warning else ""
    raise InvalidInput(
        f"{what} is too easy to guess{reason}: use three or four unrelated words, or a password manager's."
    )
