"""Every program has its launcher in `cmd/`, and the launcher starts the same program as the console script.

A person running a daemon by hand from a checkout (`.venv/bin/python cmd/minik8s-node.py …`) must reach
exactly the program `minik8s up` starts; a launcher left behind after a move would fail only then.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]


def launcher_of(script: str) -> Path:
    return ROOT / "cmd" / f"{'minik8s-cli' if script == 'minik8s' else script}.py"


def test_cmd_holds_a_launcher_per_program_and_nothing_else() -> None:
    assert sorted((ROOT / "cmd").glob("*.py")) == sorted(launcher_of(script) for script in SCRIPTS)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_launcher_runs_the_console_scripts_program(script: str) -> None:
    module = SCRIPTS[script].split(":")[0]
    via_launcher = subprocess.run([sys.executable, str(launcher_of(script)), "--help"], capture_output=True,
                                  text=True, timeout=60, cwd="/")
    via_module = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                                timeout=60, cwd="/")
    assert via_launcher.returncode == 0, via_launcher.stderr
    assert via_launcher.stdout == via_module.stdout
