"""Entry point of one node agent (`python cmd/node.py --node-name node-1 --server URL --pod-cidr ...`), no logic.

This folder also holds `minik8s.py`, which would shadow the `minik8s` package when Python
puts this folder first on the import path; so the folder is swapped for the project root.
"""

import sys
from pathlib import Path

sys.path[0] = str(Path(__file__).resolve().parent.parent)

from minik8s.node.main import main  # noqa: E402

raise SystemExit(main())
