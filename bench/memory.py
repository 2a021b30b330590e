"""One gunicorn worker's memory over many webhooks: does the plugin leak?

One sync worker serves the plugin on a fresh PostgreSQL database with the
standalone sandbox over HTTP; it receives the first delivery of every webhook of
freshly paid orders, and its resident set size (``VmRSS`` in
``/proc/<pid>/status``) is read after every step. The growth counts from the
first sample, once the worker has warmed up, to the last. The run fails when a
webhook is not answered 2xx or the worker is replaced midway (a crash).

Run:  python bench/memory.py [--webhooks 10000] [--every 1000]
"""

from __future__ import annotations

import argparse
import sys
import typing as t
from pathlib import Path

import _stack
import apps

URL = "/nicepay/webhook"


def parse_args(argv: t.Sequence[str] | None = None) -> argparse.Namespace:
    parser = _stack.parser(__doc__)
    parser.add_argument("--webhooks", type=int, default=10_000, help="how many")
    parser.add_argument("--every", type=int, default=1000, help="sample interval")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    args = _stack.parse_args(parser, argv)
    if args.quick:
        args.webhooks, args.every = min(args.webhooks, 200), min(args.every, 50)
    if args.webhooks < args.every or args.every < 1:
        parser.error("--webhooks must be at least --every, and --every at least 1")
    return args


def rss_kib(pid: int) -> int:
    """The process's resident set size in KiB, from ``/proc``."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise SystemExit(f"no VmRSS for process {pid}")


def main(argv: t.Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    with (
        _stack.postgres_database(args.postgres_url) as database,
        _stack.standalone_sandbox(_stack.KEY, _stack.SECRET) as sandbox_url,
    ):
        env = _stack.app_environment(sandbox_url, database)
        maker = apps.plugin(env)
        with _stack.gunicorn("apps:plugin()", env, workers=1) as server:
            (worker,) = server.worker_pids()
            print(
                f"worker {worker}: {args.webhooks} webhooks, sampled every {args.every}"
            )
            print(f"{'webhooks':>8} {'VmRSS KiB':>10}")
            samples, failures = _run(maker, sandbox_url, server, worker, args)
    return _report(samples, failures)


def _run(
    maker: t.Any,
    sandbox_url: str,
    server: _stack.Server,
    worker: int,
    args: argparse.Namespace,
) -> tuple[list[tuple[int, int]], list[str]]:
    samples: list[tuple[int, int]] = []
    failures: list[str] = []
    sent = 0
    while sent < args.webhooks:
        step = min(args.every, args.webhooks - sent)
        bodies = _stack.pay(sandbox_url, _stack.create_orders(maker, step))
        load = _stack.deliver(server.url + URL, bodies, concurrency=args.concurrency)
        sent += step
        if not load.all_ok or load.outcomes["applied"] != step:
            failures.append(f"at {sent}: {load.statuses} {load.outcomes}")
        if server.worker_pids() != [worker]:
            failures.append(
                f"at {sent}: the worker was replaced ({server.worker_pids()})"
            )
            break
        samples.append((sent, rss_kib(worker)))
        print(f"{sent:>8} {samples[-1][1]:>10}", flush=True)
    return samples, failures


def _report(samples: list[tuple[int, int]], failures: list[str]) -> int:
    if samples:
        (first_n, first), (last_n, last) = samples[0], samples[-1]
        print(
            f"growth from {first_n} to {last_n} webhooks: {last - first:+d} KiB "
            f"({(last - first) / first:+.1%}; "
            f"{(last - first) * 1024 / max(last_n - first_n, 1):+.0f} bytes a webhook)"
        )
    for failure in failures:
        print(f"CHECK FAILED: {failure}")
    if failures:
        return 1
    print("correctness: ok (every webhook applied and answered 2xx, one worker)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
