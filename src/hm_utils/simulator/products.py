"""The long tail of billed products (products.yml), predictive optimization's operations history and
the AI gateway's request log.

Each product of the catalogue bills a few resources per workspace that uses it, in fixed clock hours
of each day; which workspaces use it and the resources' ids are drawn from the seed, so a day's rows
depend only on (seed, account, day).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pyarrow as pa
import yaml

from hm_utils.simulator.billing import UsagePart
from hm_utils.simulator.common import (
    US_PER_DAY,
    US_PER_HOUR,
    US_PER_MINUTE,
    SimulationOptions,
    Window,
    activity_factor,
    build_table,
    day_rng,
    decimals,
    hashed_hex,
    hashed_uuids,
    repeat_scalar,
    stable_int,
    timestamps,
    unit_hash,
    weekday_of,
)
from hm_utils.simulator.entities import Account

CATALOGUE = Path(__file__).with_name("products.yml")


@cache
def catalogue() -> list[dict]:
    """The products of products.yml."""
    return yaml.safe_load(CATALOGUE.read_text())["products"]


def product_skus(regions: list[str]) -> list[str]:
    """Every SKU the catalogue bills on, for the given region suffixes."""
    return sorted({p["sku"].format(region=region) for p in catalogue() for region in regions})


def _placeholders(account: Account, ws: np.ndarray, key: np.ndarray, salt: int) -> dict[str, pa.Array]:
    """Values for the catalogue's {placeholders}, one per row (stable per resource `key`)."""
    p = account.principals
    users = np.flatnonzero(~p.is_sp.to_numpy())
    sps = np.flatnonzero(p.is_sp.to_numpy())
    tables = account.tables.target.to_numpy()
    pick = unit_hash(key, salt, 5)
    table = tables[(pick * tables.size).astype(int)]
    parts = [t.split(".") for t in table]
    return {
        "id": hashed_hex(8, key, salt),
        "uuid": hashed_uuids(key, salt, 6),
        "region": pa.array(account.workspaces.region_sku.to_numpy()[ws], pa.string()),
        "metastore": pa.array(
            np.array(account.metastore_ids, dtype=object)[account.workspaces.metastore.to_numpy()[ws]], pa.string()
        ),
        "user": pa.array(p.email.to_numpy()[users[(pick * users.size).astype(int)]], pa.string()),
        "sp": pa.array(p.email.to_numpy()[sps[(pick * sps.size).astype(int)]], pa.string()),
        "table": pa.array([x[2] for x in parts], pa.string()),
        "catalog": pa.array([x[0] for x in parts], pa.string()),
        "schema": pa.array([x[1] for x in parts], pa.string()),
    }


def _value(template: object, values: dict[str, pa.Array], n: int, salt: int, key: np.ndarray) -> pa.Array:
    """A column from a catalogue value: a literal, or text with {placeholders}."""
    if isinstance(template, bool):
        return pa.array(np.full(n, template))
    text = str(template)
    if "{" not in text:
        return repeat_scalar(text, n)
    import pyarrow.compute as pc

    pieces: list[pa.Array | str] = []
    rest = text
    while "{" in rest:
        before, _, after = rest.partition("{")
        name, _, rest = after.partition("}")
        if before:
            pieces.append(before)
        pieces.append(values[name])
    if rest:
        pieces.append(rest)
    if len(pieces) == 1 and isinstance(pieces[0], pa.Array):
        return pieces[0]
    return pc.binary_join_element_wise(*pieces, "")


def product_usage(options: SimulationOptions, account: Account, window: Window) -> list[UsagePart]:
    """One usage part per catalogue product."""
    parts = []
    n_ws = len(account.workspaces)
    for index, product in enumerate(catalogue()):
        salt = stable_int(options.seed, product["origin"], index)
        users_it = np.flatnonzero(unit_hash(np.arange(n_ws), salt) < product["workspaces"])
        if users_it.size == 0:
            users_it = np.array([salt % n_ws])
        entities = int(product["entities"])
        res_ws = np.repeat(users_it, entities)
        res_key = res_ws * 100 + np.tile(np.arange(entities), users_it.size)
        hours = np.arange(24) if product["hours"] == "all" else np.array(product["hours"])
        days = np.array(list(window.days()))
        d, h, r = np.meshgrid(days, hours, np.arange(res_key.size), indexing="ij")
        d, h, r = d.ravel(), h.ravel(), r.ravel()
        if d.size == 0:
            continue
        factor = np.array([activity_factor(int(x)) for x in days])[np.searchsorted(days, d)]
        noise = 0.6 + 0.8 * unit_hash(salt, res_key[r], d, h)
        ws, key = res_ws[r], res_key[r]
        values = _placeholders(account, ws, key, salt)
        n = d.size
        columns: dict[str, object] = {
            "custom_tags": pa.MapArray.from_arrays(
                pa.array(np.zeros(n + 1, np.int32)), pa.array([], pa.string()), pa.array([], pa.string())
            ),
            "billing_origin_product": repeat_scalar(product["origin"], n),
            "usage_type": repeat_scalar(product.get("usage_type", "COMPUTE_TIME"), n),
            # the structs are never NULL themselves, only their fields
            "usage_metadata.__null__": np.zeros(n, bool),
            "identity_metadata.__null__": np.zeros(n, bool),
            "product_features.__null__": np.zeros(n, bool),
        }
        for section, prefix in (
            ("metadata", "usage_metadata"),
            ("features", "product_features"),
            ("identity", "identity_metadata"),
        ):
            for name, template in (product.get(section) or {}).items():
                columns[f"{prefix}.{name}"] = _value(template, values, n, salt, key)
        sku = _value(product["sku"], values, n, salt, key)
        parts.append(
            UsagePart(
                domain=f"product-{product['origin']}-{index}",
                key=(key.astype(np.int64) * 100_000 + d) * 24 + h,
                ws=ws,
                hour_us=d * US_PER_DAY + h * US_PER_HOUR,
                micro_units=np.maximum(np.round(product["dbu"] * factor * noise * 1e6), 1).astype(np.int64),
                sku=sku,
                columns=columns,
            )
        )
    return parts


OPERATIONS = ["COMPACTION", "VACUUM", "ANALYZE", "CLUSTERING"]


def predictive_optimization(options: SimulationOptions, account: Account, window: Window) -> pa.Table:
    """storage.predictive_optimization_operations_history: a few maintenance operations per day on
    tables of the workspaces that use predictive optimization (column list UNCONFIRMED in the reference)."""
    rows = {k: [] for k in ("ws", "start", "dur", "table", "op", "key")}
    tables = account.tables
    for day in window.days():
        rng = day_rng(options, day, "predictive_optimization")
        count = rng.poisson(max(2.0, 40 * options.scale * 50))
        pick = rng.integers(0, len(tables), count)
        rows["ws"].append(tables.ws.to_numpy()[pick])
        rows["start"].append(day * US_PER_DAY + rng.integers(0, 24 * US_PER_HOUR, count))
        rows["dur"].append(rng.integers(1, 40, count) * US_PER_MINUTE)
        rows["table"].append(tables.target.to_numpy()[pick])
        rows["op"].append(rng.integers(0, len(OPERATIONS), count))
        rows["key"].append(day * 10_000 + np.arange(count))
    data = {k: np.concatenate(v) for k, v in rows.items()}
    n = data["ws"].size
    parts = [t.split(".") for t in data["table"]]
    ws_ids = account.workspaces.workspace_id.to_numpy()
    metastore = np.array(account.metastore_ids, dtype=object)[account.workspaces.metastore.to_numpy()[data["ws"]]]
    op = np.array(OPERATIONS, dtype=object)[data["op"]]
    status = np.where(unit_hash(options.seed, data["key"], 3) < 0.03, "FAILED", "SUCCESSFUL")
    metrics = pa.array(
        [
            [
                ("number_of_output_files", str(int(k % 40) + 1)),
                ("amount_of_scanned_bytes", str(int(k % 97) * 10_485_760)),
            ]
            for k in data["key"]
        ],
        pa.map_(pa.string(), pa.string()),
    )
    return build_table(
        "storage.predictive_optimization_operations_history",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(ws_ids[data["ws"]], pa.string()),
            "start_time": timestamps(data["start"]),
            "end_time": timestamps(data["start"] + data["dur"]),
            "metastore_name": pa.array(["metastore_" + str(m)[:8] for m in metastore], pa.string()),
            "metastore_id": pa.array(metastore, pa.string()),
            "catalog_name": pa.array([x[0] for x in parts], pa.string()),
            "schema_name": pa.array([x[1] for x in parts], pa.string()),
            "table_name": pa.array([x[2] for x in parts], pa.string()),
            "table_id": hashed_uuids(
                stable_int(options.seed, "table"), np.array([stable_int(t) for t in data["table"]])
            ),
            "operation_type": pa.array(op, pa.string()),
            "operation_id": hashed_uuids(options.seed, data["key"], 81),
            "operation_status": pa.array(status, pa.string()),
            "operation_metrics": metrics,
            "usage_unit": repeat_scalar("ESTIMATED_DBU", n),
            "usage_quantity": decimals(
                np.round(data["dur"] / US_PER_HOUR * 2.0 * 1e6).astype(np.int64), 6, pa.decimal128(38, 18)
            ),
        },
    )


def ai_gateway_usage(options: SimulationOptions, account: Account, window: Window) -> pa.Table:
    """ai_gateway.usage: requests through the AI gateway of the LLM serving endpoints (a few per hour)."""
    ep = account.endpoints
    llm = np.flatnonzero(np.isin(ep.kind.to_numpy(), ["FOUNDATION_MODEL", "EXTERNAL_MODEL"]))
    if llm.size == 0:
        return build_table("ai_gateway.usage", 0, {})
    pieces = []
    for day in window.days():
        rng = day_rng(options, day, "ai_gateway")
        count = rng.poisson(max(5.0, 25_000 * options.scale) * (0.5 if weekday_of(day) >= 5 else 1.0))
        pieces.append(
            (
                llm[rng.integers(0, llm.size, count)],
                day * US_PER_DAY + rng.integers(7 * US_PER_HOUR, 19 * US_PER_HOUR, count),
                day * 100_000 + np.arange(count),
            )
        )
    e, t, key = (np.concatenate([p[i] for p in pieces]) for i in range(3))
    n = e.size
    u = unit_hash(options.seed, key, 91)
    external = ep.kind.to_numpy()[e] == "EXTERNAL_MODEL"
    model = np.where(external, "gpt-4o", "databricks-meta-llama-3-3-70b-instruct")
    status = np.where(u < 0.02, 429, np.where(u < 0.03, 500, 200)).astype(np.int32)
    tokens_in = (50 + 2000 * unit_hash(key, 92)).astype(np.int64)
    tokens_out = (10 + 600 * unit_hash(key, 93)).astype(np.int64)
    latency = (200 + 4000 * unit_hash(key, 94)).astype(np.int64)
    users = account.principals.email.to_numpy()
    destination = [[{"name": str(m), "traffic_percent": 100.0, "type": "PAY_PER_TOKEN"}] for m in model]
    attempts = [
        [
            {"priority": "1", "action": "CALL", "destination": str(m), "destination_id": None, "status_code": int(s),
             "error_code": None if s == 200 else "RATE_LIMIT", "latency_ms": int(lat), "start_time": None, "end_time": None}
        ]
        for m, s, lat in zip(model, status, latency, strict=True)
    ]  # fmt: skip
    return build_table(
        "ai_gateway.usage",
        n,
        {
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(account.workspaces.workspace_id.to_numpy()[ep.ws.to_numpy()[e]], pa.string()),
            "request_id": hashed_uuids(options.seed, key, 95),
            "schema_version": np.ones(n, np.int32),
            "endpoint_id": pa.array(ep.endpoint_id.to_numpy()[e], pa.string()),
            "endpoint_name": pa.array(ep.name.to_numpy()[e], pa.string()),
            "endpoint_tags": pa.array([[("team", "ml")]] * n, pa.map_(pa.string(), pa.string())),
            "endpoint_metadata.creator": pa.array(users[ep.creator.to_numpy()[e]], pa.string()),
            "endpoint_metadata.creation_time": timestamps(ep.create_us.to_numpy()[e]),
            "endpoint_metadata.last_updated_time": timestamps(ep.create_us.to_numpy()[e] + US_PER_DAY),
            "endpoint_metadata.destinations": destination,
            "endpoint_metadata.inference_table": repeat_scalar("main.ml.gateway_inference_log", n),
            "endpoint_metadata.fallbacks": destination,
            "event_time": timestamps(t),
            "latency_ms": latency,
            "time_to_first_byte_ms": latency // 4,
            "destination_type": pa.array(np.where(external, "EXTERNAL_MODEL", "FOUNDATION_MODEL"), pa.string()),
            "destination_name": pa.array(model, pa.string()),
            "destination_id": hashed_uuids(e, 96),
            "destination_model": pa.array(model, pa.string()),
            "requester": pa.array(users[(key * 7 + e) % users.size], pa.string()),
            "requester_type": repeat_scalar("USER", n),
            "ip_address": pa.array(account.principals.ip.to_numpy()[(key * 7 + e) % users.size], pa.string()),
            "url": pa.array(
                ["https://gateway/serving-endpoints/" + str(x) + "/invocations" for x in ep.name.to_numpy()[e]],
                pa.string(),
            ),
            "user_agent": repeat_scalar("databricks-sdk-py/0.38.0", n),
            "api_type": repeat_scalar("mlflow/v1/chat", n),
            "request_tags": pa.array([[("app", "assistant")]] * n, pa.map_(pa.string(), pa.string())),
            "input_tokens": tokens_in,
            "output_tokens": tokens_out,
            "total_tokens": tokens_in + tokens_out,
            "token_details.cache_read_input_tokens": tokens_in // 3,
            "token_details.cache_creation_input_tokens": tokens_in // 10,
            "token_details.output_reasoning_tokens": tokens_out // 5,
            "response_content_type": repeat_scalar("application/json", n),
            "status_code": status,
            "routing_information.attempts": attempts,
            "invocation_id": hashed_uuids(options.seed, key, 97),
            "invocation_metadata.source": repeat_scalar("AI_PLAYGROUND", n),
            "invocation_metadata.service_tier": repeat_scalar("DEFAULT", n),
        },
    )
