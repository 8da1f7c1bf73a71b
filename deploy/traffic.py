"""Calls a URL and reports who answered: the demo's traffic generator (no curl needed).

    python deploy/traffic.py URL [--count N]            # N calls, one answer per line
    python deploy/traffic.py URL --until FILE           # call every 0.1 s until FILE exists, then count failures
"""

import argparse
import sys
import time
from pathlib import Path

import httpx


def call(client: httpx.Client, url: str) -> str | None:
    try:
        response = client.get(url, timeout=2)
    except httpx.HTTPError:
        return None
    return response.text.strip() if response.status_code == 200 else None


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--count", type=int, default=1)
    parser.add_argument("--until", default="")
    args = parser.parse_args()
    with httpx.Client(headers={"Connection": "close"}) as client:
        if not args.until:
            for _ in range(args.count):
                print(call(client, args.url) or "FAILED")
            return 0
        calls = failed = 0
        while not Path(args.until).exists():
            calls += 1
            failed += call(client, args.url) is None
            time.sleep(0.1)
        print(f"requests during the rollout: {calls}, failed: {failed}")
        return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
