"""Personal data for readers: pseudonyms in report frames, the declared personal gold columns, and the
Databricks mask functions and column masks generated for them."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from hm_utils import config as config_module
from hm_utils import grants, privacy
from hm_utils.gold import models

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
IP = re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b")


@pytest.fixture
def prod(monkeypatch):
    monkeypatch.delenv("HM_SET", raising=False)
    return config_module.load("prod")


def test_addresses_become_stable_distinct_pseudonyms():
    text = "alice@example.com logged in from 203.0.113.7, then Alice@Example.com from 2001:db8::1"
    masked = privacy.mask_text(text)
    assert not EMAIL.search(masked) and not IP.search(masked) and "2001:db8" not in masked
    alice = privacy.pseudonym("user", "alice@example.com")
    assert masked.count(alice) == 2  # case does not make another person
    assert privacy.pseudonym("user", "bob@example.com") != alice
    assert re.fullmatch(r"user-[0-9a-f]{10}", alice)


@pytest.mark.parametrize("text", ["System-User", "2026-11-30 06:00 UTC", "12:30:45", "job 123", "16.4.x-scala2.12"])
def test_other_text_is_unchanged(text):
    assert privacy.mask_text(text) == text


def test_frames_are_masked_in_every_text_cell():
    frame = pd.DataFrame(
        {
            "user_email": ["a@x.io", None, "b@x.io"],
            "ips": [["10.0.0.1", "10.0.0.2"], [], None],
            "params": [{"targetUserName": "c@x.io"}, {}, None],
            "events": [3, 4, 5],
        }
    )
    masked = privacy.mask_frame(frame)
    assert masked["user_email"].nunique() == 2 and pd.isna(masked["user_email"][1])
    assert masked["ips"][0] == [privacy.pseudonym("ip", "10.0.0.1"), privacy.pseudonym("ip", "10.0.0.2")]
    assert masked["params"][0] == {"targetUserName": privacy.pseudonym("user", "c@x.io")}
    assert masked["events"].tolist() == [3, 4, 5]
    assert frame["user_email"][0] == "a@x.io"  # the caller's frame is left alone


def test_reports_mask_only_when_asked(prod):
    frame = pd.DataFrame({"user_email": ["a@x.io"]})
    assert privacy.for_readers(prod, frame)["user_email"][0].startswith("user-")
    assert privacy.for_readers(prod.with_overrides({"privacy.mask_personal_data": False}), frame).equals(frame)


def test_every_declared_personal_column_exists_in_gold(prod):
    types = grants.gold_column_types()
    for key, columns in prod.get("privacy.personal_columns").items():
        assert key in types, f"{key} is not a gold model"
        assert set(columns) <= set(types[key]), f"{key}: {set(columns) - set(types[key])} are not its columns"


def test_every_gold_column_described_as_an_email_or_ip_is_declared(prod):
    declared = {(key, column) for key, columns in prod.get("privacy.personal_columns").items() for column in columns}
    personal = re.compile(r"\bemail\b|\bIP address\b", re.IGNORECASE)
    described = {
        (model.key, column.name)
        for model in models.load_models().values()
        for column in model.columns
        if personal.search(column.comment) and not column.type.startswith(("bigint", "int", "array"))
    }
    assert described <= declared, f"personal columns not declared in privacy.personal_columns: {described - declared}"


def test_mask_functions_let_analysts_and_the_service_principal_see_values(prod):
    string_mask, map_mask = privacy.mask_functions(prod)
    assert string_mask.startswith("create or replace function hm_prod.hm_gold.hm_mask_personal(value string)")
    assert "is_account_group_member('health-monitor-analysts')" in string_mask
    assert "session_user() = 'health-monitor-sp'" in string_mask
    assert "concat('user-', left(sha2(lower(value), 256), 10))" in string_mask
    assert "transform_values(value, (k, v) ->" in map_mask


def test_column_masks_cover_the_declared_columns_with_the_right_function(prod):
    statements = privacy.mask_statements(prod, grants.gold_column_types())
    count = sum(len(columns) for columns in prod.get("privacy.personal_columns").values())
    assert len(statements) == count
    assert (
        "alter table hm_prod.hm_gold.fct_audit_events alter column `source_ip_address` "
        "set mask hm_prod.hm_gold.hm_mask_personal" in statements
    )
    assert (
        "alter table hm_prod.hm_gold.fct_audit_events alter column `request_params` "
        "set mask hm_prod.hm_gold.hm_mask_personal_map" in statements
    )
