"""One exception tree for everything kg reports to a user.

Every `KGError` message says what went wrong *and* what to do; the CLI prints it on one line
and exits with the error's `exit_code` (never a traceback).
"""

from __future__ import annotations


class KGError(Exception):
    """Base of every error kg raises on purpose."""

    exit_code = 1


class UsageError(KGError):
    """Bad input from the user: a flag, a file, an environment variable."""

    exit_code = 2


class ConfigError(UsageError):
    """A pipeline file or vocabulary that does not validate; names the file and the key."""


class InputError(UsageError):
    """A data file (snapshot, papers JSONL, gold) that cannot be read; names file and line."""


class StoreError(KGError):
    """The SQLite store cannot be opened, migrated or written."""


class SourceError(KGError):
    """A remote source failed after its retries; carries the URL (never a secret)."""


class LockedError(KGError):
    """Another refresh of the same pipeline holds the lock in `KG_HOME`."""

    exit_code = 3


class OutputError(KGError):
    """An output file (graph, page, changelog) cannot be written; names the path."""


# Exit codes of `kg` (documented in README.md, "Scheduled refresh").
EXIT_OK = 0
EXIT_FAILED = KGError.exit_code  # 1: the run failed (store or outputs not writable, ...)
EXIT_USAGE = UsageError.exit_code  # 2: bad flag, pipeline file, vocabulary or input file
EXIT_LOCKED = LockedError.exit_code  # 3: another refresh of this pipeline is running
EXIT_PARTIAL = 4  # some sources failed after retries; data from the others is kept


class Terminated(KGError):
    """SIGTERM (systemd stop, CI cancel) during a refresh: committed work is kept."""

    exit_code = 143  # 128 + SIGTERM, as a shell reports a process killed by it
