"""Entry point of the controller-manager (`python cmd/controller_manager.py --server URL`), no logic.

This folder also holds `minik8s.py`, which would shadow the `minik8s` package when Python
puts this folder first on the import path; so the folder is swapped for the project root.
"""

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from minik8s.controllers.manager import main  # noqa: E402

raise SystemExit(main())
