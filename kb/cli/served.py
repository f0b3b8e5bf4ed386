"""The app that `kb serve` runs for an index, found through a file in that index's directory, so
that `kb ask` and `kb search` typed in another terminal answer through it.

A new process pays for importing Chroma, building e5's tokenizer, opening the ONNX sessions and
loading the vectors' graph (5.6 s at 100,000 passages, kb bench); the app has paid once, at start.
`kb serve` writes `serve.json` into the index directory (the app's address, its process id and a
random token, readable by the owner only) and removes it when it stops. The CLI asks the app only
when the file names a live process and the CLI's settings give the same answers as the app's;
otherwise, or when the app does not answer, it answers in its own process as before.

The token is what the app's answer route checks: whoever can read it can read the index itself.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import secrets
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from kb import files
from kb.config import Settings
from kb.errors import UsageError

FILE = "serve.json"
ROUTE = "/kb/api/answer"
TOKEN_HEADER = "X-KB-Token"
# Settings that do not change an answer: where the app listens, its login, how ingest runs.
_NOT_ANSWERING = {"sources_dir", "index_dir", "host", "port", "auth", "ingest_workers", "parse_timeout"}
_NOT_ANSWERING |= {"ocr_page_timeout", "embed_batch_size"}


@dataclass(frozen=True)
class Server:
    """A running app: where to send a question, and the token it accepts."""

    url: str
    token: str
    pid: int


class Unavailable(Exception):
    """The app named by serve.json did not answer; the caller answers in its own process."""


def token() -> str:
    """A new random token for the app's answer route."""
    return secrets.token_urlsafe(32)


def announce(settings: Settings, url: str, token_: str) -> Path:
    """Write serve.json for the app listening at `url` (this process), removed when the process exits."""
    path = settings.index_dir / FILE
    record = {"url": url.rstrip("/"), "token": token_, "pid": os.getpid(), "settings": fingerprint(settings)}
    files.write_text(path, json.dumps(record))  # written through mkstemp: readable by the owner only
    atexit.register(withdraw, settings)
    return path


def withdraw(settings: Settings) -> None:
    """Remove serve.json if this process wrote it (another app may have announced itself since)."""
    path = settings.index_dir / FILE
    try:
        if json.loads(path.read_text(encoding="utf-8")).get("pid") == os.getpid():
            path.unlink()
    except (OSError, ValueError):
        pass


def find(settings: Settings) -> Server | None:
    """The app serving this index with answers the same as these settings give, or None."""
    try:
        record = json.loads((settings.index_dir / FILE).read_text(encoding="utf-8"))
        server = Server(str(record["url"]), str(record["token"]), int(record["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if record.get("settings") != fingerprint(settings) or not _alive(server.pid):
        return None
    return server


def answer(server: Server, request: dict, timeout: float = 60.0) -> dict:
    """The app's answer (Answer.to_dict) to a request (AskRequest.to_dict). A question the app
    refuses raises UsageError with its message; an app that does not answer raises Unavailable."""
    call = urllib.request.Request(
        server.url + ROUTE,
        data=json.dumps(request).encode(),
        headers={"Content-Type": "application/json", TOKEN_HEADER: server.token},
        method="POST",
    )
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback: never via a proxy
    try:
        with opener.open(call, timeout=timeout) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        if exc.code == 400:
            raise UsageError(json.loads(exc.read()).get("detail", "the app refused the question")) from None
        raise Unavailable(f"{server.url} answered {exc.code}") from None
    except (OSError, ValueError) as exc:  # refused, timed out, reset, not JSON
        raise Unavailable(f"{server.url}: {exc}") from None


def fingerprint(settings: Settings) -> str:
    """A digest of the settings that shape an answer (model, store, fusion, limits, LLM)."""
    values = {k: str(v) for k, v in asdict(settings).items() if k not in _NOT_ANSWERING}
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()[:16]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True
