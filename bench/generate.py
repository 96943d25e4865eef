"""Write a realistic orders CSV for the bench contract (bench/orders_bench.yaml), fast and cached.

Rows are built column-wise with numpy + Arrow compute and written straight from the joined
string buffer, so 4 GB takes a minute or two. With `bad_rate`, that share of rows (never among
the first 1,000) carries exactly one fault each, of one of nine kinds, so every method's count
per check can be compared exactly.

    python -m bench.generate --gb 1 --seed 7 --bad-rate 0.01
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

DATA = Path(__file__).resolve().parent / "data"
HEADER = "order_id,customer_id,order_date,created_at,status,quantity,amount,currency,email,note\n"
CHUNK_ROWS = 500_000
SAFE_ROWS = 1_000  # no bad row among these: duplicates point back at them
STATUSES = ["NEW", "PAID", "SHIPPED", "CANCELLED"]
CURRENCIES = ["EUR", "USD", "GBP", "CHF", "SEK", "JPY"]
DOMAINS = ["example.com", "mail.example.org", "shop.test", "post.example.net"]
NOTES = [
    "Leave at the door, ring twice",
    "Gift wrap, please; no invoice in the box",
    'Customer says: ""fragile, handle with care""',
    "Deliver after 6pm, side entrance",
    "Call before delivery, dog on premises",
    "Address line 2: Building C, floor 3",
    "Promo SPRING26 applied, 10% off",
    "Replacement for order lost in transit, see ticket 4411",
    "Split shipment OK",
    "Use recycled packaging, if possible",
]
BAD_KINDS = 9  # see _inject


def path_for(gb: float, seed: int, bad_rate: float) -> Path:
    return DATA / f"orders_{gb:g}gb_seed{seed}_bad{bad_rate:g}.csv"


def _s(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def _chunk(rng: np.random.Generator, start: int, n: int, bad_rate: float) -> pa.Array:
    ids = np.arange(start + 1, start + n + 1, dtype=np.int64)
    customer = rng.integers(1, 2_000_000, n)
    days = rng.integers(0, 730, n).astype(np.int32)
    base_day = 19_723  # 2024-01-01
    order_date = pc.cast(pa.array(days + base_day, pa.int32()).cast(pa.date32()), pa.string())
    seconds = (days.astype(np.int64) + base_day) * 86_400 + rng.integers(0, 86_400, n)
    created = pc.replace_substring(pc.cast(pa.array(seconds, pa.timestamp("s")), pa.string()),
                                   " ", "T", max_replacements=1)
    status = pa.array(STATUSES).take(pa.array(rng.integers(0, len(STATUSES), n)))
    quantity = _s(rng.integers(1, 50, n))
    cents = rng.integers(0, 250_000_00, n)
    amount = pc.binary_join_element_wise(_s(cents // 100), pc.utf8_lpad(_s(cents % 100), 2, "0"), ".")
    currency = pa.array(CURRENCIES).take(pa.array(rng.integers(0, len(CURRENCIES), n)))
    domain = pa.array(DOMAINS).take(pa.array(rng.integers(0, len(DOMAINS), n)))
    email = pc.binary_join_element_wise(
        pc.binary_join_element_wise(pa.array(np.full(n, "user"), pa.string()), _s(customer), ""), domain, "@")
    email = pc.if_else(pa.array(rng.random(n) < 0.05), "", email)  # 5 % unknown (null)
    notes = pa.array([f'"{note}"' for note in NOTES]).take(pa.array(rng.integers(0, len(NOTES), n)))
    note = pc.if_else(pa.array(rng.random(n) < 0.4), "", notes)  # 40 % no note (null)
    cols = {"order_id": _s(ids), "customer_id": _s(customer), "order_date": order_date,
            "created_at": created, "status": status, "quantity": quantity, "amount": amount,
            "currency": currency, "email": email, "note": note}
    if bad_rate:
        cols = _inject(rng, cols, ids, bad_rate)
    line = pc.binary_join_element_wise(*cols.values(), ",")
    return pc.binary_join_element_wise(line, pa.array(np.full(n, ""), pa.string()), "\n")


def _inject(rng, cols: dict[str, pa.Array], ids: np.ndarray, bad_rate: float) -> dict[str, pa.Array]:
    """One fault per bad row: kind k of BAD_KINDS."""
    n = len(ids)
    bad = (rng.random(n) < bad_rate) & (ids > SAFE_ROWS)
    kind = np.where(bad, rng.integers(0, BAD_KINDS, n), -1)

    def put(name: str, k: int, value) -> None:
        mask = pa.array(kind == k)
        cols[name] = pc.if_else(mask, value, cols[name])

    put("amount", 0, "12.3x")                       # wrong type (decimal)
    put("order_date", 1, "2026-02-30")              # wrong type (date: no such day)
    put("status", 2, "UNKNOWN")                     # isin
    put("currency", 3, "usd")                       # str_matches
    put("email", 4, "not-an-email")                 # str_matches
    put("quantity", 5, "0")                         # ge 1
    put("customer_id", 6, "")                       # null in a non-nullable column
    put("order_id", 7, _s(ids % 997 + 1))           # duplicate of one of the first rows
    put("created_at", 8, "yesterday")               # wrong type (timestamp)
    return cols


def generate(gb: float, seed: int = 7, bad_rate: float = 0.0) -> Path:
    """The cached file for (size, seed, bad rate); written on first use."""
    path = path_for(gb, seed, bad_rate)
    if path.exists():
        return path
    DATA.mkdir(parents=True, exist_ok=True)
    target = int(gb * (1 << 30))
    rng = np.random.default_rng(seed)
    tmp = path.with_suffix(".tmp")
    written, start = 0, 0
    with open(tmp, "wb") as out:
        out.write(HEADER.encode())
        written += len(HEADER)
        while written < target:
            lines = _chunk(rng, start, CHUNK_ROWS, bad_rate)
            offsets = np.frombuffer(lines.buffers()[1], dtype=np.int32)[:len(lines) + 1]
            data = memoryview(lines.buffers()[2])[:int(offsets[-1])]
            if written + len(data) > target:  # cut at a line end near the target size
                rows = int(np.searchsorted(offsets, target - written, side="right")) - 1
                data = data[:int(offsets[max(rows, 1)])]
                out.write(data)
                break
            out.write(data)
            written += len(data)
            start += CHUNK_ROWS
    os.replace(tmp, path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gb", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--bad-rate", type=float, default=0.0)
    args = parser.parse_args()
    print(generate(args.gb, args.seed, args.bad_rate))


if __name__ == "__main__":
    main()
