"""Who may use a served knowledge base: the `user:password` logins of KB_AUTH, read once, and the
check of HTTP Basic credentials against them. The app (app.py) signs users in with them through
Gradio's login page; the JSON API (kb/web_api.py) and `kb mcp --http` also take them as HTTP Basic
credentials, which programs send without a login page."""

from __future__ import annotations

import base64
import binascii
import secrets
from pathlib import Path

from kb.errors import UsageError


def auth_pairs(value: str) -> list[tuple[str, str]]:
    """Logins from KB_AUTH: `user:password` pairs separated by commas, or a file path with one pair per line."""
    value = value.strip()
    if not value:
        return []
    path = Path(value)
    if ":" not in value and not path.is_file():
        raise UsageError(f"KB_AUTH={value!r} is neither a file nor user:password pairs")
    source, lines = (
        (str(path), path.read_text(encoding="utf-8").splitlines())
        if path.is_file()
        else ("KB_AUTH", value.split(","))
    )
    pairs = []
    for n, line in enumerate(lines, start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not (sep and user.strip() and password):
            raise UsageError(f"{source}: entry {n} is not of the form user:password")
        pairs.append((user.strip(), password))
    if not pairs:
        raise UsageError(f"{source} holds no user:password pair")
    return pairs


def basic_login(pairs: list[tuple[str, str]], authorization: str) -> bool:
    """Whether an `Authorization: Basic …` header names one of the logins (compared in constant
    time, every pair tried so that the time does not tell which user exists)."""
    scheme, _, encoded = authorization.partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        user, sep, password = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    found = False
    for u, p in pairs:
        same = secrets.compare_digest(u.encode(), user.encode()) & secrets.compare_digest(
            p.encode(), password.encode()
        )
        found |= bool(sep) and same
    return found
