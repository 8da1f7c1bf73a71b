"""Every shell script of the project parses and passes shellcheck.

The scripts set up machines, build images and run the demos: a mistake in one shows up on a fresh
machine, long after the change. `make install` installs shellcheck (deploy/setup/docker.sh); with
CI=true a missing shellcheck fails the run instead of skipping the check.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.support.requirements import unavailable

ROOT = Path(__file__).resolve().parents[2]
SCRIPT_FOLDERS = ("deploy", "cmd", ".ci")


def is_shell_script(path: Path) -> bool:
    if path.suffix == ".sh":
        return True
    if not path.is_file() or path.suffix:
        return False
    with path.open("rb") as opened:
        first_line = opened.readline()
    return first_line.startswith(b"#!") and first_line.rstrip().split(b"/")[-1].split()[-1] in (b"bash", b"sh")


SCRIPTS = sorted(path for folder in SCRIPT_FOLDERS for path in (ROOT / folder).rglob("*") if is_shell_script(path))


def require_shellcheck() -> str:
    found = shutil.which("shellcheck")
    if found is not None:
        return found
    unavailable("shellcheck is not installed")


def test_the_scripts_are_found() -> None:
    names = {str(script.relative_to(ROOT)) for script in SCRIPTS}
    assert {"deploy/setup/docker.sh", "deploy/demo.sh", "deploy/compose/node.sh"} <= names


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(script.relative_to(ROOT)) for script in SCRIPTS])
def test_script_parses(script: Path) -> None:
    result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("script", SCRIPTS, ids=[str(script.relative_to(ROOT)) for script in SCRIPTS])
def test_script_passes_shellcheck(script: Path) -> None:
    shellcheck = require_shellcheck()
    result = subprocess.run([shellcheck, "-x", script.name], capture_output=True, text=True, check=False,
                            cwd=script.parent)
    assert result.returncode == 0, result.stdout
