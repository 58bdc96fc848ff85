"""Masking on the engine: the SQL pseudonyms of the Databricks column masks equal the ones the reports compute,
and a report page rendered with masking on shows no email or IP address (the same page without masking does)."""

from __future__ import annotations

import re

import pytest

from hm_utils import privacy, runner

pytestmark = pytest.mark.engine

EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[A-Za-z][\w.-]*")
IPV4 = re.compile(r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w.])")

VALUES = ["alice@example.com", "Bob.Smith@corp.example.co.uk", "203.0.113.7", "2001:db8::1", "System-User", "job 42"]


def test_sql_pseudonyms_equal_the_reports(spark):
    rows = ", ".join(f"({privacy.io.sql_string(value)})" for value in VALUES)
    query = f"select value, {privacy.pseudonym_sql('value')} as masked from values {rows} as t(value)"
    computed = {row["value"]: row["masked"] for row in spark.sql(query).collect()}
    assert computed == {value: privacy.mask_text(value) for value in VALUES}
    assert computed["System-User"] == "System-User" and computed["203.0.113.7"].startswith("ip-")


def _render_security_page(config, folder, mask: bool) -> str:
    import nbconvert

    output = folder / f"security-{mask}.ipynb"
    runner.execute_notebook(
        config,
        "reports/security.ipynb",
        output,
        {"env": config.env, "overrides": f"privacy.mask_personal_data={str(mask).lower()}", "run_id": "masking"},
        what="security report",
        rerun="pytest tests/integration/test_privacy_engine.py",
    )
    html, _ = nbconvert.HTMLExporter(exclude_input=True).from_filename(str(output))
    return re.sub(r"<(script|style)\b.*?</\1>", "", html, flags=re.DOTALL)  # the page's text, not its assets


@pytest.mark.slow
def test_a_masked_report_page_shows_no_email_or_ip(account, config, tmp_path):
    plain = _render_security_page(config, tmp_path, mask=False)
    assert EMAIL.search(plain) and IPV4.search(plain), (
        "the unmasked page must show addresses for this test to mean anything"
    )
    masked = _render_security_page(config, tmp_path, mask=True)
    assert not EMAIL.search(masked), EMAIL.search(masked)
    assert not IPV4.search(masked), IPV4.search(masked)
    assert re.search(r"user-[0-9a-f]{10}", masked) and re.search(r"ip-[0-9a-f]{10}", masked)
