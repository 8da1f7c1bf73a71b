"""The scheduler process: `python -m minik8s.scheduler.main --server URL`.

Several copies may run for high availability; the one holding the `kube-scheduler` Lease in
kube-system schedules, the others wait (`--leader-elect=false` runs one alone). Leading builds
the scheduler afresh (informers, cache, queue) and losing the Lease cancels all of it, so a
deposed leader stops at once; a bind it might still have in flight is refused by the server
if another scheduler bound the pod first.
"""

from __future__ import annotations

import argparse
import logging
import sys

from minik8s.client.command_line import add_client_flags, add_leader_flags, lead_or_wait, make_client
from minik8s.client.events import EventRecorder
from minik8s.daemon.entry import run_daemon
from minik8s.daemon.logs import add_logging_flags
from minik8s.scheduler.scheduler import DEFAULT_SCHEDULER_NAME, Scheduler

log = logging.getLogger("minik8s.scheduler")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="minik8s-scheduler", description="minik8s scheduler")
    add_client_flags(parser)
    add_leader_flags(parser)
    parser.add_argument("--scheduler-name", default=DEFAULT_SCHEDULER_NAME,
                        help="schedule only pods whose spec.schedulerName is this")
    add_logging_flags(parser)
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    client = make_client(args)

    async def lead() -> None:
        log.info("leading: scheduling pods for %s", args.scheduler_name)
        events = EventRecorder(client, component=args.scheduler_name)
        await Scheduler(client, scheduler_name=args.scheduler_name, events=events).run()

    try:
        await lead_or_wait(client, args, lease_name="kube-scheduler", lead=lead)
    finally:
        await client.aclose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run_daemon(lambda: serve(args), args, name="scheduler")


if __name__ == "__main__":
    sys.exit(main())
