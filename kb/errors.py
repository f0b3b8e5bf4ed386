"""Errors written for the person at the keyboard: the message says what went wrong and what to do."""


class KBError(Exception):
    """An error the user can act on; the CLI prints its message without a traceback."""

    exit_code = 1


class UsageError(KBError):
    """The command was given something it cannot use (bad option, malformed manifest)."""

    exit_code = 2


class ManifestError(UsageError):
    """sources/sources.toml is malformed; the message names the line."""


class IndexMissingError(KBError):
    """There is no index yet; the message says which command builds it."""


class IndexEmptyError(KBError):
    """The index exists but holds no document (every file was removed, or none could be read)."""


class ModelMismatchError(KBError):
    """The index was built with another embedding model than the one configured."""


class IndexBusyError(KBError):
    """Another ingest holds the index lock."""


class StoreUnavailableError(KBError):
    """The Chroma server (or index directory) cannot be reached right now."""
