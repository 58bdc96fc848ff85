"""billing.usage and billing.list_prices.

Domains hand in `UsagePart`s (one row per resource, SKU and clock hour); this module adds the
common columns, ids, arrival (ingestion) dates, late rows and RETRACTION/RESTATEMENT pairs, and
builds a price book with monthly price changes and one promotion. Quantities keep 6 decimals and
prices 4, so sums are exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from hm_utils.simulator.common import (
    US_PER_DAY,
    US_PER_HOUR,
    SimulationOptions,
    Window,
    build_table,
    dates,
    decimals,
    hashed_uuids,
    keep_rows,
    repeat_scalar,
    stable_int,
    timestamps,
    unit_hash,
)
from hm_utils.system_schema import arrow_schema

QUANTITY = pa.decimal128(38, 18)
LATE_ROW_SHARE = 0.02
CORRECTION_SHARE = 0.004
PRICE_EPOCH_DAY = 19358  # 2023-01-01: first price window of every SKU
PRICE_CHANGE_CHANCE = 0.15  # chance that a SKU's price changes at a month start
SPIKE_FACTOR = 6  # the cost spike multiplies a day's usage of one SKU in one workspace


@dataclass
class UsagePart:
    """Usage rows of one domain: `key` is unique within the domain and stable across windows."""

    domain: str
    key: np.ndarray
    ws: np.ndarray
    hour_us: np.ndarray
    micro_units: np.ndarray
    sku: pa.Array
    columns: dict[str, object] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.key.size)


def base_price(sku: str) -> float:
    """List price (USD per DBU) of a SKU, roughly like AWS premium list prices."""
    table = [
        ("GENIE_FREE_USAGE", 0.0),
        ("SERVERLESS_REAL_TIME_INFERENCE", 0.07),
        ("GPU", 1.0),
        ("DEFAULT_STORAGE", 0.023),
        ("NETWORKING", 0.01),
        ("SERVERLESS_SQL", 0.70),
        ("JOBS_SERVERLESS", 0.35),
        ("ALL_PURPOSE_SERVERLESS", 0.75),
        ("SQL_PRO", 0.55),
        ("SQL_COMPUTE", 0.22),
        ("DLT_ADVANCED", 0.36),
        ("DLT_PRO", 0.25),
        ("DLT_CORE", 0.20),
        ("ALL_PURPOSE", 0.55),
        ("JOBS", 0.15),
    ]
    for needle, price in table:
        if needle in sku:
            return price * (1.1 if "PHOTON" in sku else 1.0)
    return 0.5


def assemble_usage(
    options: SimulationOptions,
    account_id: str,
    workspace_ids: np.ndarray,
    window: Window,
    parts: list[UsagePart],
    spikes: list[tuple[int, int, str]] = (),
) -> tuple[pa.Table, np.ndarray]:
    """ORIGINAL rows of all parts plus corrections, from the window's first day on, and when each
    arrives (µs). `spikes` = (workspace index, day, sku) multiply that day's usage.

    An ORIGINAL row arrives 2-12 hours after its hour ends (the reference: "typically within 12
    hours"), LATE_ROW_SHARE of them 1-3 days late; a correction pair arrives 2-6 days after the
    original. `ingestion_date` is the arrival date. The snapshot filter is applied by the caller."""
    tables, arrivals = [], []
    for part in parts:
        n = len(part)
        if n == 0:
            continue
        salt = stable_int(part.domain)
        units = part.micro_units.astype(np.int64)
        day = part.hour_us // US_PER_DAY
        for ws, spike_day, sku in spikes:
            hit = (part.ws == ws) & (day == spike_day) & pc.equal(part.sku, sku).to_numpy(zero_copy_only=False)
            units = np.where(hit, units * SPIKE_FACTOR, units)
        late_draw = unit_hash(options.seed, salt, part.key, 11)
        lag = (2 + 10 * unit_hash(options.seed, salt, part.key, 14)) * US_PER_HOUR
        arrival = part.hour_us + US_PER_HOUR + lag.astype(np.int64)
        late = late_draw < LATE_ROW_SHARE
        arrival = np.where(late, arrival + (1 + (late_draw * 1000).astype(np.int64) % 3) * US_PER_DAY, arrival)
        columns = dict(part.columns)
        columns.update(
            {
                "account_id": repeat_scalar(account_id, n),
                "workspace_id": pa.array(workspace_ids[part.ws], pa.string()),
                "sku_name": part.sku,
                "cloud": repeat_scalar("AWS", n),
                "usage_start_time": timestamps(part.hour_us),
                "usage_end_time": timestamps(part.hour_us + US_PER_HOUR),
                "usage_date": dates(part.hour_us),
                "usage_unit": repeat_scalar("DBU", n),
            }
        )
        columns.setdefault("usage_type", repeat_scalar("COMPUTE_TIME", n))
        original = dict(columns)
        original.update(
            {
                "record_id": hashed_uuids(options.seed, salt, part.key, 0),
                "usage_quantity": decimals(units, 6, QUANTITY),
                "record_type": repeat_scalar("ORIGINAL", n),
                "ingestion_date": dates(arrival),
            }
        )
        tables.append((build_table("billing.usage", n, original), day))
        arrivals.append(arrival)

        corrected = np.flatnonzero(unit_hash(options.seed, salt, part.key, 12) < CORRECTION_SHARE)
        if corrected.size:
            later = arrival[corrected] + (2 + (part.key[corrected] % 5)) * US_PER_DAY
            subset = {
                k: (v.take(pa.array(corrected)) if isinstance(v, pa.Array) else v[corrected])
                for k, v in columns.items()
            }
            factor = 0.7 + 0.25 * unit_hash(options.seed, salt, part.key[corrected], 13)
            for record_type, qty, tag in (
                ("RETRACTION", -units[corrected], 1),
                ("RESTATEMENT", np.round(units[corrected] * factor).astype(np.int64), 2),
            ):
                extra = dict(subset)
                extra.update(
                    {
                        "record_id": hashed_uuids(options.seed, salt, part.key[corrected], tag),
                        "usage_quantity": decimals(qty, 6, QUANTITY),
                        "record_type": repeat_scalar(record_type, corrected.size),
                        "ingestion_date": dates(later),
                    }
                )
                tables.append((build_table("billing.usage", corrected.size, extra), day[corrected]))
                arrivals.append(later)
    if not tables:
        return arrow_schema("billing.usage").empty_table(), np.zeros(0, np.int64)
    kept, kept_arrival = [], []
    for (table, day), arrival in zip(tables, arrivals, strict=True):
        mask = day >= window.first_day
        kept.append(keep_rows(table, mask))
        kept_arrival.append(arrival[mask])
    return pa.concat_tables(kept), np.concatenate(kept_arrival)


def visible_usage(usage: pa.Table, arrival: np.ndarray, window: Window) -> pa.Table:
    """The usage rows a snapshot at the window's end shows (arrived by then, after the previous end)."""
    keep = arrival <= window.end_us
    if window.after_us is not None:
        keep &= arrival > window.after_us
    return keep_rows(usage, keep)


def list_prices(options: SimulationOptions, account_id: str, skus: list[str], window: Window) -> pa.Table:
    """Non-overlapping price windows per SKU up to the window's end: monthly change points drawn per
    (SKU, month), the current price open-ended, and a two-week promotion every fourth month on one SKU.
    Depends only on the seed, the SKUs and the end's date, never on where the window starts."""
    month_starts = np.arange(
        np.datetime64("2023-01", "M"), np.datetime64(str(window.last), "M") + 1, dtype="datetime64[M]"
    )
    month_days = month_starts.astype("datetime64[D]").astype(np.int64)
    promo_sku = sorted(skus)[stable_int(options.seed, "promo") % len(skus)] if skus else ""
    # the promotion starts on the 5th of every fourth month: a snapshot that moves keeps it where it was
    promo_months = [int(m) + 4 for i, m in enumerate(month_days) if (i + stable_int(options.seed, "promo")) % 4 == 0]
    rows: dict[str, list] = {k: [] for k in ("start", "end", "sku", "default", "promo")}
    for sku in sorted(skus):
        price = base_price(sku)
        changes = [PRICE_EPOCH_DAY]
        prices = [price]
        for month_day in month_days[1:]:
            if unit_hash(options.seed, stable_int(sku), int(month_day))[0] < PRICE_CHANGE_CHANCE:
                price = round(
                    price * (1.0 + 0.05 * (1 if unit_hash(stable_int(sku), int(month_day))[0] < 0.7 else -1)), 4
                )
                changes.append(int(month_day))
                prices.append(price)
        if sku == promo_sku:
            for promo_start in promo_months:
                changes, prices = _with_promotion(changes, prices, promo_start)
        known = [i for i, start in enumerate(changes) if start <= window.last_day]  # no price announced ahead
        changes, prices = [changes[i] for i in known], [prices[i] for i in known]
        for i, (start, value) in enumerate(zip(changes, prices, strict=False)):
            end = changes[i + 1] if i + 1 < len(changes) else None
            rows["start"].append(start * US_PER_DAY)
            rows["end"].append(None if end is None else end * US_PER_DAY)
            rows["sku"].append(sku)
            rows["default"].append(value[0] if isinstance(value, tuple) else value)
            rows["promo"].append(value[1] if isinstance(value, tuple) else None)
    n = len(rows["sku"])
    default_units = np.round(np.array(rows["default"], dtype=float) * 10_000).astype(np.int64)
    promo = np.array([np.nan if p is None else p for p in rows["promo"]], dtype=float)
    effective_units = np.where(np.isnan(promo), default_units, np.round(np.nan_to_num(promo) * 10_000)).astype(np.int64)
    price_type = pa.decimal128(38, 18)
    promo_array = decimals(np.round(np.nan_to_num(promo) * 10_000).astype(np.int64), 4, price_type)
    return build_table(
        "billing.list_prices",
        n,
        {
            "account_id": repeat_scalar(account_id, n),
            "price_start_time": timestamps(np.array(rows["start"], dtype=np.int64)),
            "price_end_time": pa.array(rows["end"], pa.int64()).cast(pa.timestamp("us", tz="UTC")),
            "sku_name": pa.array(rows["sku"], pa.string()),
            "cloud": repeat_scalar("AWS", n),
            "currency_code": repeat_scalar("USD", n),
            "usage_unit": repeat_scalar("DBU", n),
            "pricing.default": decimals(default_units, 4, price_type),
            "pricing.promotional.default": pc.if_else(pa.array(np.isnan(promo)), pa.nulls(n, price_type), promo_array),
            "pricing.promotional.__null__": np.isnan(promo),
            "pricing.effective_list.default": decimals(effective_units, 4, price_type),
        },
    )


def _with_promotion(changes: list[int], prices: list, promo_start: int) -> tuple[list[int], list]:
    """Split the price windows so that [promo_start, promo_start + 14 days) carries a 20 % promotion."""
    promo_end = promo_start + 14
    points = sorted(set(changes) | {promo_start, promo_end})
    out = []
    for point in points:
        base = prices[max(i for i, c in enumerate(changes) if c <= point)]
        base = base[0] if isinstance(base, tuple) else base
        out.append((base, round(base * 0.8, 4)) if promo_start <= point < promo_end else base)
    return points, out


def priced_cost(usage: pa.Table, prices: pa.Table, mask: np.ndarray) -> tuple[float, float, float]:
    """(DBUs, list cost at pricing.default, list cost at effective_list.default) of the usage rows
    in `mask`, joined to the price valid at usage time (the documented join)."""
    rows = usage.filter(pa.array(mask))
    if rows.num_rows == 0:
        return 0.0, 0.0, 0.0
    qty = np.array([float(v) for v in rows["usage_quantity"].to_pylist()])
    start = rows["usage_start_time"].cast(pa.int64()).to_numpy()
    sku = rows["sku_name"].to_pylist()
    price_rows = prices.to_pylist()
    default_cost = effective_cost = 0.0
    for q, s, k in zip(qty, start, sku, strict=False):
        for p in price_rows:
            p_start = int(p["price_start_time"].timestamp() * 1_000_000)
            p_end = None if p["price_end_time"] is None else int(p["price_end_time"].timestamp() * 1_000_000)
            if p["sku_name"] == k and p_start <= s and (p_end is None or s + US_PER_HOUR <= p_end):
                default_cost += q * float(p["pricing"]["default"])
                effective_cost += q * float(p["pricing"]["effective_list"]["default"])
                break
    return float(qty.sum()), round(default_cost, 6), round(effective_cost, 6)
