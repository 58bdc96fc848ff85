"""Model serving (served_entities, endpoint_usage, real-time inference usage) and serverless
notebook usage."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from hm_utils.simulator.billing import UsagePart
from hm_utils.simulator.common import (
    US_PER_DAY,
    US_PER_HOUR,
    SimulationOptions,
    Window,
    build_table,
    day_rng,
    empty_maps,
    hashed_uuids,
    repeat_scalar,
    split_into_hours,
    timestamps,
    weekday_of,
)
from hm_utils.simulator.entities import Account
from hm_utils.simulator.lakeflow import retired_rows

SERVING_TYPE = {
    "CUSTOM_MODEL": "MODEL",
    "FOUNDATION_MODEL": "FOUNDATION_MODEL",
    "FEATURE_SPEC": "FEATURE",
    "EXTERNAL_MODEL": "MODEL",
}
DIURNAL = np.array([3, 2, 2, 2, 3, 4, 6, 8, 10, 11, 11, 11, 10, 11, 11, 10, 9, 8, 7, 6, 5, 4, 4, 3], float)


def served_entities(account: Account, window: Window) -> pa.Table:
    ep = account.endpoints
    n = len(ep)
    kind = ep.kind.to_numpy()
    table = build_table(
        "serving.served_entities",
        n,
        {
            "served_entity_id": pa.array(ep.served_entity_id.to_numpy(), pa.string()),
            "account_id": repeat_scalar(account.account_id, n),
            "workspace_id": pa.array(account.workspaces.workspace_id.to_numpy()[ep.ws.to_numpy()], pa.string()),
            "created_by": pa.array(account.principals.email.to_numpy()[ep.creator.to_numpy()], pa.string()),
            "endpoint_name": pa.array(ep.name.to_numpy(), pa.string()),
            "endpoint_id": pa.array(ep.endpoint_id.to_numpy(), pa.string()),
            "served_entity_name": pa.array(ep.name.to_numpy(), pa.string()),
            "entity_type": pa.array(kind, pa.string()),
            "entity_name": pa.array(
                np.where(
                    kind == "FOUNDATION_MODEL",
                    "system.ai.databricks-meta-llama-3-3-70b-instruct",
                    np.where(kind == "EXTERNAL_MODEL", "gpt-4o", "main.ml." + ep.name.to_numpy().astype(str)),
                ).astype(object),
                pa.string(),
            ),
            "entity_version": repeat_scalar("1", n),
            "endpoint_config_version": np.ones(n, np.int32),
            "task": pa.array(
                np.where(np.isin(kind, ["FOUNDATION_MODEL", "EXTERNAL_MODEL"]), "llm/v1/chat", None), pa.string()
            ),
            "external_model_config.provider": pa.array(np.where(kind == "EXTERNAL_MODEL", "openai", None), pa.string()),
            "external_model_config.__null__": kind != "EXTERNAL_MODEL",
            "custom_model_config.min_concurrency": np.zeros(n, np.int32),
            "custom_model_config.max_concurrency": np.full(n, 4, np.int32),
            "custom_model_config.compute_type": repeat_scalar("CPU", n),
            "custom_model_config.__null__": kind != "CUSTOM_MODEL",
            "foundation_model_config.min_provisioned_throughput": np.zeros(n, np.int64),
            "foundation_model_config.max_provisioned_throughput": np.full(n, 9500, np.int64),
            "foundation_model_config.__null__": kind != "FOUNDATION_MODEL",
            "feature_spec_config.min_concurrency": np.zeros(n, np.int32),
            "feature_spec_config.max_concurrency": np.full(n, 4, np.int32),
            "feature_spec_config.compute_type": repeat_scalar("CPU", n),
            "feature_spec_config.__null__": kind != "FEATURE_SPEC",
            "change_time": timestamps(ep.create_us.to_numpy()),
        },
    )
    return pa.concat_tables([table, retired_rows(table, "endpoint_delete_time", account.account_id)])


def serving(options: SimulationOptions, account: Account, window: Window) -> tuple[pa.Table, UsagePart]:
    """endpoint_usage (one row per request) and hourly serving usage of the endpoints."""
    ep = account.endpoints
    rows = {k: [] for k in ("ep", "time", "key", "status", "tin", "tout")}
    hours_ep, hours_t, hours_load = [], [], []
    for day in window.days():
        rng = day_rng(options, day, "serving")
        factor = 0.6 if weekday_of(day) >= 5 else 1.0
        rate = ep.requests_per_hour.to_numpy()[:, None] * DIURNAL[None, :] / DIURNAL.mean() * factor
        counts = rng.poisson(rate)  # endpoints × hours
        e, h = np.nonzero(np.ones_like(counts))
        c = counts.ravel()
        hours_ep.append(e), hours_t.append(day * US_PER_DAY + h * US_PER_HOUR), hours_load.append(c)
        req_ep = np.repeat(e, c)
        req_time = day * US_PER_DAY + np.repeat(h, c) * US_PER_HOUR + rng.integers(0, US_PER_HOUR, req_ep.size)
        m = req_ep.size
        rows["ep"].append(req_ep), rows["time"].append(req_time), rows["key"].append(day * 10**8 + np.arange(m))
        draw = rng.random(m)
        rows["status"].append(np.where(draw < 0.01, 500, np.where(draw < 0.03, 429, 200)))
        rows["tin"].append(rng.integers(20, 3000, m)), rows["tout"].append(rng.integers(5, 800, m))
    req = {k: np.concatenate(v) for k, v in rows.items()}
    m = req["ep"].size
    kind = ep.kind.to_numpy()[req["ep"]]
    llm = np.isin(kind, ["FOUNDATION_MODEL", "EXTERNAL_MODEL"])
    users = account.principals.email.to_numpy()
    requester = users[(req["key"] * 7 + req["ep"]) % len(users)]
    usage_table = build_table(
        "serving.endpoint_usage",
        m,
        {
            "workspace_id": pa.array(
                account.workspaces.workspace_id.to_numpy()[ep.ws.to_numpy()[req["ep"]]], pa.string()
            ),
            "account_id": repeat_scalar(account.account_id, m),
            "databricks_request_id": hashed_uuids(options.seed, 71, req["key"]),
            "requester": pa.array(requester, pa.string()),
            "status_code": req["status"].astype(np.int32),
            "request_time": timestamps(req["time"]),
            "input_token_count": pa.array(np.where(llm, req["tin"], None), pa.int64()),
            "output_token_count": pa.array(np.where(llm, req["tout"], None), pa.int64()),
            "input_character_count": req["tin"] * 4,
            "output_character_count": req["tout"] * 4,
            "request_streaming": llm & (req["key"] % 3 == 0),
            "served_entity_id": pa.array(ep.served_entity_id.to_numpy()[req["ep"]], pa.string()),
            "client_request_id": pa.array(
                np.where(
                    req["key"] % 4 == 0, hashed_uuids(options.seed, 72, req["key"]).to_numpy(zero_copy_only=False), None
                ),
                pa.string(),
            ),
            "usage_context": pa.array(
                [[("app", "chatbot"), ("team", "support")] if k % 5 == 0 else None for k in req["key"]],
                pa.map_(pa.string(), pa.string()),
            ),
        },
    )
    e, t, load = np.concatenate(hours_ep), np.concatenate(hours_t), np.concatenate(hours_load)
    billed = ep.kind.to_numpy()[e] != "EXTERNAL_MODEL"
    e, t, load = e[billed], t[billed], load[billed]
    k = e.size
    ws = ep.ws.to_numpy()[e]
    region = account.workspaces.region_sku.to_numpy()[ws].astype(str)
    dbu = ep.dbu_per_hour.to_numpy()[e] * (0.5 + 0.5 * np.minimum(load / 10.0, 1.0))
    part = UsagePart(
        domain="serving",
        key=e * 10_000_000 + t // US_PER_HOUR,
        ws=ws,
        hour_us=t,
        micro_units=np.round(dbu * 1e6).astype(np.int64),
        sku=pa.array(("PREMIUM_SERVERLESS_REAL_TIME_INFERENCE_" + region).astype(object), pa.string()),
        columns={
            "custom_tags": empty_maps(k),
            "usage_metadata.endpoint_name": pa.array(ep.name.to_numpy()[e], pa.string()),
            "usage_metadata.endpoint_id": pa.array(ep.endpoint_id.to_numpy()[e], pa.string()),
            "billing_origin_product": repeat_scalar("MODEL_SERVING", k),
            "product_features.is_serverless": np.ones(k, bool),
            "product_features.serving_type": pa.array(
                np.array([SERVING_TYPE[x] for x in ep.kind.to_numpy()], dtype=object)[e], pa.string()
            ),
        },
    )
    return usage_table, part


def notebook_usage(options: SimulationOptions, account: Account, window: Window) -> UsagePart:
    """Serverless notebook sessions of users (billed as INTERACTIVE with notebook id and path)."""
    nb = account.notebooks
    n = len(nb)
    starts, ends, owners = [], [], []
    for day in window.days(lead=1):
        rng = day_rng(options, day, "notebooks")
        # a user opens a serverless notebook on about one working day in six (most use clusters or SQL)
        active = rng.random(n) < (0.16 if weekday_of(day) < 5 else 0.02)
        idx = np.flatnonzero(active)
        start = day * US_PER_DAY + (rng.uniform(7.0, 17.0, idx.size) * US_PER_HOUR).astype(np.int64)
        starts.append(start), ends.append(start + (rng.uniform(0.5, 3.0, idx.size) * US_PER_HOUR).astype(np.int64))
        owners.append(idx)
    start, end, owner = (np.concatenate(x) for x in (starts, ends, owners))
    piece, s0, s1 = split_into_hours(start, end)
    note = owner[piece]
    k = note.size
    ws = nb.ws.to_numpy()[note]
    region = account.workspaces.region_sku.to_numpy()[ws].astype(str)
    emails = account.principals.email.to_numpy()[nb.owner.to_numpy()[note]]
    return UsagePart(
        domain="notebooks",
        key=note * 10_000_000 + s0 // US_PER_HOUR,
        ws=ws,
        hour_us=(s0 // US_PER_HOUR) * US_PER_HOUR,
        micro_units=np.maximum(np.round((1.0 + (note % 4)) * (s1 - s0) / US_PER_HOUR * 1e6), 1).astype(np.int64),
        sku=pa.array(("PREMIUM_ALL_PURPOSE_SERVERLESS_COMPUTE_" + region).astype(object), pa.string()),
        columns={
            "custom_tags": empty_maps(k),
            "usage_metadata.notebook_id": pa.array(nb.notebook_id.to_numpy()[note], pa.string()),
            "usage_metadata.notebook_path": pa.array(nb.path.to_numpy()[note], pa.string()),
            "identity_metadata.run_as": pa.array(emails, pa.string()),
            "billing_origin_product": repeat_scalar("INTERACTIVE", k),
            "product_features.is_serverless": np.ones(k, bool),
            "product_features.is_photon": np.ones(k, bool),
        },
    )
