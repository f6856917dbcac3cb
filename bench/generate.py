"""Deterministic generator of a messy "orders" CSV for benchmarks.

Usage:
    python bench/generate.py --rows 5000000 --out bench/data/orders_5m.csv [--seed 42]

Same seed, row count and numpy/polars versions -> byte-identical file (sha256
printed). Records are made in chunks of CHUNK with numpy (randomness, seeded by
(seed, chunk index)) and polars (string formatting) and appended to the file, so
memory stays bounded; a smaller --rows gives a prefix of the bigger file up to
the last whole chunk.

File layout: a header line, then `--rows` records (a record may span two physical
lines when a quoted `notes` field holds a newline). Line terminator is "\\n".

Columns (14):
    order_id      integer key, never padded or null
    customer_id   integer                        (whitespace sometimes)
    zip           5-digit US ZIP, leading zeros kept (e.g. 00501): read it as string
    country       ISO-2 code                     (nullable, whitespace sometimes)
    order_date    ISO date 2024-03-15
    shipped_date  US date 03/15/2024             (nullable, mostly empty when null)
    updated_at    ISO datetime 2024-03-15T10:22:33Z
    amount        decimal, 2 places, some negative (whitespace sometimes)
    quantity      integer                        (nullable, whitespace sometimes)
    discount_pct  decimal, 1 place               (nullable)
    is_gift       yes/no in mixed case: yes, Yes, YES, no, No, NO
    status        category                       (whitespace sometimes)
    email         text                           (nullable, whitespace sometimes)
    notes         free text; quoted when it holds commas, quotes ("" escaped)
                  or a newline                    (nullable)
Null tokens in nullable columns: NA, N/A, null, NULL, None, -, and empty.
Whitespace means one or two spaces before and/or after the value.

Each chunk is built from disjoint categories of records:
    plain      a record with a fresh, unique order_id
    malformed  a fresh unique order_id; the line has 13 fields (email dropped)
               or 15 (an extra trailing field). Quotes stay balanced, so the
               next record parses normally. These are the only malformed lines.
    exact dup  a byte-identical copy of an earlier *plain* record of the same
               chunk, placed later; each source is copied at most once
    update     reuses the order_id (and customer, zip, country, order_date) of
               an earlier *plain* record of the same chunk, placed later, with
               a strictly later updated_at and fresh other values ("latest wins")
Sources of exact dups and of updates are disjoint, an update row is itself never
copied nor updated, and no source is a malformed record. Hence, in <out>.expected.json:
    records               = data records (header excluded)
    malformed_lines       = records with a wrong field count
    exact_duplicate_rows  = extra copies (dropping them leaves every line unique)
    key_duplicate_rows    = well-formed, non-copy records superseded by a later
                            record with the same order_id (= number of updates)
    unique_order_ids      = records - malformed - exact dups - key dups
                            (the rows left after a correct clean + dedup)
    physical_lines        = newline count, header and embedded newlines included
    bytes, sha256         = of the whole file
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl

CHUNK = 100_000
COLUMNS = (
    "order_id customer_id zip country order_date shipped_date updated_at"
    " amount quantity discount_pct is_gift status email notes"
).split()
P_EXACT_DUP, P_UPDATE, P_MALFORMED = 0.01, 0.005, 0.0005
COUNTS = ["records", "malformed_lines", "exact_duplicate_rows", "key_duplicate_rows", "fresh_ids"]
NULL_TOKENS = ["", "NA", "N/A", "null", "NULL", "None", "-"]
PADS = ["", " ", "  "]
COUNTRIES = ["US"] * 14 + ["CA", "MX", "GB", "DE", "FR", "JP"]
STATUSES = ["pending", "paid", "shipped", "delivered", "cancelled", "refunded", "on_hold"]
STATUS_WEIGHTS = [0.1, 0.1, 0.2, 0.35, 0.1, 0.1, 0.05]
GIFT = ["no", "no", "no", "No", "NO", "yes", "Yes", "YES"]
DOMAINS = ["example.com", "mail.test", "shop.example.org", "corp.example.net"]
NOTES = [  # (prefix, suffix): the note is prefix + number + suffix
    ("Leave at front door, unit ", ""),
    ("Call on arrival, gate code ", "#"),
    ('Customer says "urgent", ticket ', ""),
    ('Gift wrap; card: "Happy birthday, ', '!"'),
    ("Fragile - handle with care (box ", ")"),
    ("Deliver after 5pm\nside entrance ", ""),  # embedded newline
]
NOTE_WEIGHTS = [0.3, 0.25, 0.2, 0.15, 0.09, 0.01]
EPOCH_2023 = 19358  # days since 1970-01-01 of 2023-01-01


def pick(rng: np.random.Generator, values: list[str], n: int, p=None) -> pl.Series:
    """n values drawn from `values` (optionally weighted)."""
    return pl.Series(values).gather(rng.choice(len(values), n, p=p))


def nullify(rng, s: pl.Series, p: float, p_empty: float = 0.5) -> pl.Series:
    """Replace a fraction p of s by null tokens; p_empty of those are ''."""
    n = len(s)
    probs = [p_empty] + [(1 - p_empty) / (len(NULL_TOKENS) - 1)] * (len(NULL_TOKENS) - 1)
    tokens = pick(rng, NULL_TOKENS, n, probs)
    return s.zip_with(pl.Series(rng.random(n) >= p), tokens)


def pad(rng, s: pl.Series, p: float = 0.01) -> pl.Series:
    """Surround a fraction p of values with spaces (before, after or both)."""
    n = len(s)
    mask = rng.random(n) < p
    left = np.where(mask, rng.integers(0, 3, n), 0)
    right = np.where(mask, rng.integers(0, 3, n), 0)
    right[mask & (left == 0) & (right == 0)] = 1  # a padded value gets at least one space
    pads = pl.Series(PADS)
    return pads.gather(left) + s + pads.gather(right)


def decimal(units: np.ndarray, places: int) -> pl.Series:
    """Fixed-point integers -> decimal strings with `places` places (no floats)."""
    scale = 10**places
    a = np.abs(units)
    sign = pl.Series(np.where(units < 0, "-", ""))
    frac = pl.Series(a % scale).cast(pl.String).str.zfill(places)
    return sign + pl.Series(a // scale).cast(pl.String) + "." + frac


def quote(s: pl.Series) -> pl.Series:
    """CSV-quote values holding a comma, quote or newline."""
    needs = s.str.contains(r'[,"\n]')
    return s.zip_with(~needs, '"' + s.str.replace_all('"', '""', literal=True) + '"')


def base_arrays(rng, n: int, first_id: int) -> dict[str, np.ndarray]:
    """Numeric columns for n fresh records with ids first_id .. first_id+n-1."""
    order_day = EPOCH_2023 + rng.integers(0, 730, n)
    return {
        "order_id": first_id + rng.permutation(n),
        "customer_id": rng.integers(100_000, 1_000_000, n),
        "zip": rng.integers(501, 100_000, n),
        "country": rng.choice(len(COUNTRIES), n),
        "order_day": order_day,
        "updated_s": order_day * 86_400 + rng.integers(0, 5 * 86_400, n),
    }


def render_notes(rng, n: int) -> pl.Series:
    """Free-text notes from templates, CSV-quoted where needed, 60% null."""
    idx = rng.choice(len(NOTES), n, p=NOTE_WEIGHTS)
    prefix = pl.Series([p for p, _ in NOTES]).gather(idx)
    suffix = pl.Series([s for _, s in NOTES]).gather(idx)
    notes = prefix + pl.Series(rng.integers(1, 10_000, n)).cast(pl.String) + suffix
    return nullify(rng, quote(notes), 0.6, 0.9)


def numbers(rng, n: int) -> dict[str, pl.Series]:
    """amount (cents, log-normal, 3% negative), quantity, discount_pct (tenths)."""
    cents = rng.lognormal(8.5, 1.0, n).astype(np.int64)
    tenths = np.where(rng.random(n) < 0.7, 0, rng.integers(1, 101, n) * 5)
    qty = pl.Series(rng.integers(1, 21, n)).cast(pl.String)
    return {
        "amount": pad(rng, decimal(np.where(rng.random(n) < 0.03, -cents, cents), 2)),
        "quantity": pad(rng, nullify(rng, qty, 0.02)),
        "discount_pct": nullify(rng, decimal(tenths, 1), 0.05),
    }


def dates(rng, a: dict[str, np.ndarray], n: int) -> dict[str, pl.Series]:
    """order_date (ISO), shipped_date (US, 15% null), updated_at (ISO datetime)."""
    ship = pl.Series(a["order_day"] + rng.integers(0, 10, n)).cast(pl.Date)
    updated = pl.Series(a["updated_s"] * 1000).cast(pl.Datetime("ms"))
    return {
        "order_date": pl.Series(a["order_day"]).cast(pl.Date).dt.to_string("%Y-%m-%d"),
        "shipped_date": nullify(rng, ship.dt.to_string("%m/%d/%Y"), 0.15, 0.9),
        "updated_at": updated.dt.to_string("%Y-%m-%dT%H:%M:%SZ"),
    }


def render_fields(rng, a: dict[str, np.ndarray]) -> dict[str, pl.Series]:
    """Format the records described by arrays `a` into the 14 string columns."""
    n = len(a["order_id"])
    cust = pl.Series(a["customer_id"]).cast(pl.String)
    email = "user" + cust + "@" + pick(rng, DOMAINS, n)
    return {
        "order_id": pl.Series(a["order_id"]).cast(pl.String),
        "customer_id": pad(rng, cust),
        "zip": pl.Series(a["zip"]).cast(pl.String).str.zfill(5),
        "country": pad(rng, nullify(rng, pl.Series(COUNTRIES).gather(a["country"]), 0.02)),
        **dates(rng, a, n),
        **numbers(rng, n),
        "is_gift": pick(rng, GIFT, n),
        "status": pad(rng, pick(rng, STATUSES, n, STATUS_WEIGHTS)),
        "email": pad(rng, nullify(rng, email, 0.08, 0.7)),
        "notes": render_notes(rng, n),
    }


def render_lines(rng, fields: dict[str, pl.Series], bad: np.ndarray) -> pl.Series:
    """Join fields into CSV lines; lines at `bad` lose `email` or gain a field."""
    df = pl.DataFrame(fields)
    lines = df.select(pl.concat_str(COLUMNS, separator=",")).to_series()
    if len(bad):
        no_email = [c for c in COLUMNS if c != "email"]
        short = df[bad].select(pl.concat_str(no_email, separator=",")).to_series()
        extra = lines.gather(bad) + ",unexpected"
        lines = lines.scatter(bad, short.zip_with(pl.Series(rng.random(len(bad)) < 0.5), extra))
    return lines


def build_chunk(rng, n: int, first_id: int) -> tuple[pl.Series, dict[str, int]]:
    """n records of one chunk, in file order, and the category counts."""
    n_dup, n_upd, n_bad = (int(rng.binomial(n, p)) for p in (P_EXACT_DUP, P_UPDATE, P_MALFORMED))
    if n_bad + 2 * (n_dup + n_upd) > n:  # tiny chunk: not enough sources
        n_dup = n_upd = n_bad = 0
    n_base = n - n_dup - n_upd
    base = base_arrays(rng, n_base, first_id)
    chosen = rng.choice(n_base, n_bad + n_dup + n_upd, replace=False)
    bad, dup_src, upd_src = np.split(chosen, [n_bad, n_bad + n_dup])
    upd = {k: v[upd_src] for k, v in base.items()}  # same key fields, later updated_at
    upd["updated_s"] = upd["updated_s"] + rng.integers(3_600, 30 * 86_400, n_upd)
    arrays = {k: np.concatenate([base[k], upd[k]]) for k in base}
    lines = render_lines(rng, render_fields(rng, arrays), bad)
    lines = pl.concat([lines, lines.gather(dup_src)])
    # file order: fresh record i at i; updates/copies just before a later fresh record
    src = np.concatenate([upd_src, dup_src])
    later = rng.integers(src + 1, n_base + 1) - 0.5
    order = np.argsort(np.concatenate([np.arange(n_base), later]), kind="stable")
    counts = dict(zip(COUNTS, (n, n_bad, n_dup, n_upd, n_base), strict=True))
    return lines.gather(order), counts


def generate(rows: int, out: Path, seed: int) -> dict:
    """Write the CSV chunk by chunk; return the expected counts."""
    out.parent.mkdir(parents=True, exist_ok=True)
    totals = dict.fromkeys(COUNTS, 0)
    data = (",".join(COLUMNS) + "\n").encode()
    sha, size, newlines, t0 = hashlib.sha256(data), len(data), 1, time.monotonic()
    with out.open("wb") as f:
        f.write(data)
        for i, start in enumerate(range(0, rows, CHUNK)):
            rng = np.random.default_rng([seed, i])  # chunk i depends on (seed, i) only
            first_id = 1_000_001 + totals["fresh_ids"]
            lines, counts = build_chunk(rng, min(CHUNK, rows - start), first_id)
            data = (lines.str.join("\n")[0] + "\n").encode()
            f.write(data)
            sha.update(data)
            size, newlines = size + len(data), newlines + data.count(b"\n")
            totals = {k: totals[k] + counts[k] for k in totals}
            done, secs = start + counts["records"], time.monotonic() - t0
            msg = f"\r{done:>12,} / {rows:,} rows  {size / 1e6:8.1f} MB  {secs:6.1f} s"
            print(msg, end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return summarize(totals, rows, seed, size, newlines, sha.hexdigest())


def summarize(totals: dict, rows: int, seed: int, size: int, newlines: int, digest: str) -> dict:
    """The sidecar content (see module docstring for the counting rules)."""
    totals.pop("fresh_ids")
    unique = rows - sum(totals[k] for k in COUNTS[1:4])  # malformed, exact and key dups
    extra = {"unique_order_ids": unique, "physical_lines": newlines, "bytes": size}
    return {"seed": seed, "columns": COLUMNS, "header": True, **totals, **extra, "sha256": digest}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--out", type=Path, default=Path("bench/data/orders_5m.csv"))
    ap.add_argument("--seed", type=int, default=42)
    args = ap.parse_args(argv)
    expected = generate(args.rows, args.out, args.seed)
    sidecar = args.out.with_name(args.out.name + ".expected.json")
    sidecar.write_text(json.dumps(expected, indent=2) + "\n")
    print(f"{args.out}  {expected['bytes']:,} bytes  sha256 {expected['sha256']}")
    print(f"expected counts -> {sidecar}")


if __name__ == "__main__":
    main()
