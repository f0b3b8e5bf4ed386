"""The messages the app shows for errors: a KBError's own text, or one line with what to check."""

from __future__ import annotations

import logging

from kb.api import Library
from kb.errors import KBError

log = logging.getLogger("kb.app")


def readable(exc: Exception, library: Library) -> str:
    """The message to show for an error: a KBError's own text, else one line (the traceback goes to the log)."""
    if isinstance(exc, KBError):
        return str(exc)
    if library.settings.chroma_url and store_unreachable(exc):
        log.warning("the Chroma server is not answering: %s: %s", type(exc).__name__, exc)
        library.reset()
        return (
            f"The Chroma server at {library.settings.chroma_url} is not answering ({exc}): check that "
            "it is running. Questions are answered again as soon as it is back."
        )
    log.exception("request failed")
    library.reset()  # the index is reopened on the next request, in case its store went away
    return (
        f"Something went wrong ({type(exc).__name__}: {str(exc)[:200]}). If the index uses a Chroma server "
        "(KB_CHROMA_URL), check that it is running. Details are in the terminal running `kb serve`."
    )


def store_unreachable(exc: Exception) -> bool:
    """Whether an error is a connection to the Chroma server that failed or broke off."""
    import httpx

    return isinstance(exc, httpx.TransportError | ConnectionError)
