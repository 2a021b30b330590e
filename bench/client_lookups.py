"""Payments looked up per second: PortOneClient against a naive client.

Both clients look up the same payments on one standalone sandbox server (a separate
process, over real sockets), in alternating rounds so that machine noise hits both
alike. The naive client does what the existing Python clients for PortOne V1 do:
it fetches a token before every lookup, each on a new connection. Both parse the
answer with the same schema, so the difference is connections and tokens alone.

Run:  python bench/client_lookups.py [--lookups 400] [--rounds 5]
Target: PortOneClient at least 1.8x the naive client.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import typing as t
from decimal import Decimal

import requests
from _sandbox import checkout
from _sandbox import standalone_sandbox

from flask_nicepay.portone import PortOneClient
from flask_nicepay.portone import schemas

KEY, SECRET = "bench_key", "bench_secret"
TARGET = 1.8


def make_payments(base_url: str, count: int) -> list[str]:
    return [
        checkout(base_url, f"bench-{i}", 10_000 + i)["imp_uid"] for i in range(count)
    ]


def naive_lookup(base_url: str, imp_uid: str) -> object:
    """A token per lookup, a new connection per request, as the old clients do."""
    token = requests.post(
        base_url + "/users/getToken",
        json={"imp_key": KEY, "imp_secret": SECRET},
        timeout=10,
    ).json()["response"]["access_token"]
    answer = requests.get(
        f"{base_url}/payments/{imp_uid}",
        headers={"Authorization": token},
        timeout=10,
    )
    return schemas.PAYMENT.one(
        json.loads(answer.content, parse_float=Decimal)["response"]
    )


def rate(lookup: t.Callable[[str], object], uids: list[str], lookups: int) -> float:
    started = time.perf_counter()
    for i in range(lookups):
        lookup(uids[i % len(uids)])
    return lookups / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lookups", type=int, default=400, help="lookups per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--payments", type=int, default=50)
    args = parser.parse_args()

    with standalone_sandbox(KEY, SECRET) as base_url:
        uids = make_payments(base_url, args.payments)
        client = PortOneClient(KEY, SECRET, base_url=base_url)
        ours: list[float] = []
        naive: list[float] = []
        rate(client.get_payment, uids, 20)  # warm both paths up
        rate(lambda uid: naive_lookup(base_url, uid), uids, 20)
        for _ in range(args.rounds):
            ours.append(rate(client.get_payment, uids, args.lookups))
            naive.append(
                rate(lambda uid: naive_lookup(base_url, uid), uids, args.lookups)
            )
        token_fetches = client.tokens.fetches

    ours_rate, naive_rate = statistics.median(ours), statistics.median(naive)
    ratio = ours_rate / naive_rate
    print(f"lookups per round: {args.lookups}, rounds: {args.rounds} (medians shown)")
    print(
        f"PortOneClient : {ours_rate:8.1f} lookups/s  (token fetches: {token_fetches})"
    )
    print(f"naive client  : {naive_rate:8.1f} lookups/s  (one token per lookup)")
    print(f"ratio         : {ratio:8.2f}x  (target >= {TARGET}x)")
    print(f"rounds, ours  : {', '.join(f'{r:.0f}' for r in ours)}")
    print(f"rounds, naive : {', '.join(f'{r:.0f}' for r in naive)}")
    return 0 if ratio >= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())
