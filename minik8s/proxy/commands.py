"""Running the host's network tools (iptables-restore, iptables-save, ip) with one error type.

The proxy's side effects are all short commands; running them the same way everywhere (captured
output, a timeout, stderr in the exception) keeps failures readable in the proxy's log.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

COMMAND_TIMEOUT_SECONDS = 60.0


class CommandError(RuntimeError):
    """A command failed or could not run; the message carries its stderr."""


def run_command(arguments: Sequence[str], *, input_text: str | None = None) -> str:
    """Run one command; its stdout, or CommandError with its stderr."""
    try:
        completed = subprocess.run(list(arguments), input=input_text, capture_output=True, text=True,
                                   timeout=COMMAND_TIMEOUT_SECONDS, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise CommandError(f"{arguments[0]}: {error}") from error
    if completed.returncode != 0:
        raise CommandError(f"{' '.join(arguments)} failed ({completed.returncode}): {completed.stderr.strip()}")
    return completed.stdout
