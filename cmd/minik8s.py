"""Entry point of the `minik8s` CLI (`python cmd/minik8s.py up`), no logic.

This file is named like the `minik8s` package; Python puts its folder first on the import
path, where `import minik8s` would find this file, so the folder is swapped for the project root.
"""

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from minik8s.cli.main import run  # noqa: E402

run()
