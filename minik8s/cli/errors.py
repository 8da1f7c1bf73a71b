"""The one error type the CLI reports to its user.

Every failure the user can act on (a bad flag, a replica that died while starting, a port
already taken) is raised as `CliError` with a message written for people; `main.run`
prints it as one line on stderr and exits non-zero. Anything else is a bug and is reported
as such, still without a traceback. The kubectl-like verbs print kubectl's own wording
(`Error from server (NotFound): ...`, `error: the path "x" does not exist`) as is: they raise
with `verbatim=True` and the line goes out without the `minik8s: error:` prefix.
"""

from __future__ import annotations


class CliError(Exception):
    """A failure explained in one line; `exit_code` is what the process exits with."""

    def __init__(self, message: str, *, exit_code: int = 1, verbatim: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code
        self.verbatim = verbatim

    def __str__(self) -> str:
        return self.message
