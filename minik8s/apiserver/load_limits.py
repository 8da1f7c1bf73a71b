"""The apiserver's limits under load, as one value: what `create_app` is given and the flags that set it.

Requests in flight (`inflight`), watches per user and in all (`watch_limits`) and how long an
unbounded watch may run. The defaults are Kubernetes' where it has the flag (400 read-only and 200
mutating requests in flight, a 1,800 s minimum request timeout); the watch limits are minik8s' own
(Kubernetes bounds watches only by memory and API priority and fairness): 1,000 per user is three
times what 100 simulated nodes under one anonymous identity open, and 5,000 in all stays under
200 MB of watch state.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class LoadLimits:
    max_requests_inflight: int = 400
    max_mutating_requests_inflight: int = 200
    max_watches: int = 5_000
    max_watches_per_user: int = 1_000
    min_request_timeout: int = 1_800


def add_load_limit_flags(parser: argparse.ArgumentParser) -> None:
    defaults = LoadLimits()
    parser.add_argument("--max-requests-inflight", type=int, default=defaults.max_requests_inflight,
                        help="read-only requests served at once; more get 429 (watches and other "
                             "long-running requests are not counted; 0: no limit)")
    parser.add_argument("--max-mutating-requests-inflight", type=int,
                        default=defaults.max_mutating_requests_inflight,
                        help="mutating requests served at once; more get 429 (0: no limit)")
    parser.add_argument("--max-watches", type=int, default=defaults.max_watches,
                        help="watches open at once in all; more get 429 (0: no limit)")
    parser.add_argument("--max-watches-per-user", type=int, default=defaults.max_watches_per_user,
                        help="watches one user (all anonymous callers are one) may hold open; more get 429 "
                             "(0: no limit)")
    parser.add_argument("--min-request-timeout", type=int, default=defaults.min_request_timeout,
                        help="a watch without timeoutSeconds ends after a random time between this many "
                             "seconds and twice that (0: never)")


def load_limits_from_flags(parser: argparse.ArgumentParser, args: argparse.Namespace) -> LoadLimits:
    limits = LoadLimits(args.max_requests_inflight, args.max_mutating_requests_inflight, args.max_watches,
                        args.max_watches_per_user, args.min_request_timeout)
    if min(vars(limits).values()) < 0:
        parser.error("the request, watch and timeout limits may not be negative")
    return limits
