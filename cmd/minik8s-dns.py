"""`minik8s-dns`: the cluster DNS; the same program as the console script, no logic.

Run it with the project's Python (`.venv/bin/python cmd/minik8s-dns.py --help`). The hyphen keeps the file
from ever being imported as a module, so this folder shadows nothing on the import path.
"""

from minik8s.dns.main import main

raise SystemExit(main())
