"""`minik8s`: the minik8s CLI (cluster lifecycle and kubectl's verbs); the same program as the console script, no logic.

Run it with the project's Python (`.venv/bin/python cmd/minik8s-cli.py --help`). The hyphen keeps the file
from ever being imported as a module, so this folder shadows nothing on the import path.
"""

from minik8s.cli.main import run

raise SystemExit(run())
