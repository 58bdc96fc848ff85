"""Genie space definitions and their serialized_space export, without Spark."""

from __future__ import annotations

import json
import re

import pytest

from hm_utils import config as config_module
from hm_utils.semantic import assets, genie

ACTIVE = ["cost", "data_quality", "mlops", "performance", "reliability", "security"]
STUBS: list[str] = []


@pytest.fixture(scope="module")
def config():
    return config_module.load("ci")


def test_one_space_per_domain():
    assert genie.space_names() == sorted(ACTIVE + STUBS)
    for domain in STUBS:
        space = genie.load_space(domain)
        assert space["status"] == "stub" and space["missing"] and not space["examples"]


def test_examples_cover_every_function_and_many_questions():
    for domain in ACTIVE:
        assert len(genie.load_space(domain)["examples"]) >= 30, f"{domain}: 30+ example questions per space"
    examples = [e for domain in ACTIVE for e in genie.load_space(domain)["examples"]]
    assert len({e["question"] for e in examples}) == len(examples), "questions are unique"
    answered = {genie.example_asset(e) for e in examples}
    active = {f for d in ACTIVE for f in genie.load_space(d)["functions"]}
    assert active <= answered, "every function of an active space answers at least one example question"
    listed = {f for d in ACTIVE + STUBS for f in genie.load_space(d)["functions"]}
    assert listed == set(assets.function_names()), "every function belongs to a space"


@pytest.mark.parametrize("domain", ACTIVE + STUBS)
def test_serialized_space_shape(config, domain):
    body = genie.serialized_space(config, domain)
    assert body["version"] == 2
    ids = []
    for section in (
        body["config"]["sample_questions"],
        body["instructions"]["text_instructions"],
        body["instructions"]["example_question_sqls"],
        body["instructions"]["sql_functions"],
        body["benchmarks"]["questions"],
    ):
        assert [item["id"] for item in section] == sorted(item["id"] for item in section)
        ids += [item["id"] for item in section]
    assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids) and len(ids) == len(set(ids))
    text = body["instructions"]["text_instructions"][0]["content"]
    assert isinstance(text, list) and all(isinstance(line, str) for line in text)
    for example in body["instructions"]["example_question_sqls"]:
        sql = "".join(example["sql"])
        assert sql.startswith("select ") and "spark_catalog.hm_semantic." in sql
    for source in body["data_sources"]["tables"]:
        assert source["identifier"].startswith("spark_catalog.") and source["description"][0]
    if domain in STUBS:
        assert "Missing:" in "".join(text)
    json.dumps(body)  # serialisable


def test_example_sql_uses_named_arguments_and_measures(config):
    fn = genie.example_sql(
        config,
        {"question": "q", "function": "get_failed_jobs", "args": {"start_date": "current_date() - interval 7 days"}},
    )
    assert fn == (
        "select * from spark_catalog.hm_semantic.get_failed_jobs(start_date => current_date() - interval 7 days)"
    )
    mv = genie.example_sql(
        config,
        {
            "question": "q",
            "metric_view": "mv_cost_daily",
            "measures": ["total_list_cost"],
            "dimensions": ["workspace_name"],
            "where": "usage_date >= current_date() - 7",
        },
    )
    assert mv == (
        "select workspace_name, measure(total_list_cost) as total_list_cost from "
        "spark_catalog.hm_semantic.mv_cost_daily where usage_date >= current_date() - 7 "
        "group by all order by workspace_name"
    )
    with pytest.raises(Exception, match="unknown arguments"):
        genie.example_sql(config, {"question": "q", "function": "get_failed_jobs", "args": {"days": "7"}})


def test_payload_and_thin_deploy_path(config, tmp_path):
    cfg = config.with_overrides({"semantic.genie.warehouse_id": "wh-1", "semantic.genie.parent_path": "/Shared/hm"})
    payload = genie.space_payload(cfg, "cost")
    assert payload["title"] == "Health Monitor · Cost" and payload["warehouse_id"] == "wh-1"
    assert json.loads(payload["serialized_space"])["version"] == 2

    class FakeApi:
        def __init__(self):
            self.calls = []

        def do(self, method, path, body=None):
            self.calls.append((method, path, body))
            return {"spaces": [{"title": "Health Monitor · Security", "space_id": "s1"}]} if method == "GET" else {}

    client = type("Client", (), {"api_client": FakeApi()})()
    deployed = genie.deploy_spaces(cfg, client)
    assert len(deployed) == len(ACTIVE)
    methods = [(m, p) for m, p, _ in client.api_client.calls]
    assert ("PATCH", "/api/2.0/genie/spaces/s1") in methods
    assert sum(1 for m, _ in methods if m == "POST") == len(ACTIVE) - 1

    written = genie.export_spaces(cfg, tmp_path)
    assert sorted(p.name for p in written) == sorted(f"{d}.geniespace.json" for d in ACTIVE + STUBS)
