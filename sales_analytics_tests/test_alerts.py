"""The run alert's message, built from a RunReport without Dagster."""

from __future__ import annotations

import json

from sales_analytics.core.alerts import (
    MAX_NAMED_CHECKS,
    CheckOutcome,
    RunReport,
    alert_payload,
    alert_text,
    format_duration,
    run_url,
)

RUN_ID = "0123456789abcdef-run"
URL = run_url("http://127.0.0.1:3000/", RUN_ID)


def report(**changes: object) -> RunReport:
    values: dict[str, object] = {
        "job_name": "sales_analytics_job",
        "run_id": RUN_ID,
        "succeeded": True,
        "duration_seconds": 83.4,
        "run_url": URL,
        "mart_rows": {"fct_transactions": 1000, "dim_customers": 200, "dim_products": 20},
        "checks": [
            CheckOutcome("raw/customers", "customer_ids_unique_and_not_null", True, "ERROR"),
            CheckOutcome("raw/customers", "customer_emails_well_formed", False, "WARN"),
            CheckOutcome("marts/dim_customers", "unique_dim_customers_customer_id", True, "ERROR"),
        ],
    }
    values.update(changes)
    return RunReport(**values)  # type: ignore[arg-type]


def test_run_url_joins_the_ui_base_and_the_run_id() -> None:
    assert URL == "http://127.0.0.1:3000/runs/0123456789abcdef-run"


def test_durations_read_naturally() -> None:
    assert format_duration(4.25) == "4.2s"
    assert format_duration(42.4) == "42s"
    assert format_duration(83.4) == "1m 23s"
    assert format_duration(3723) == "1h 02m 03s"
    assert format_duration(None) == "unknown time"


def test_success_says_status_duration_rows_checks_and_link() -> None:
    text = alert_text(report())

    assert text.splitlines() == [
        ":white_check_mark: sales_analytics_job succeeded in 1m 23s",
        "Rows per mart: dim_customers 200, dim_products 20, fct_transactions 1,000",
        "Checks: 2 passed, 1 failed",
        "  failed [WARN] raw/customers: customer_emails_well_formed",
        f"Run: {URL}",
    ]


def test_failure_names_failed_steps_error_checks_and_what_did_not_run() -> None:
    failed = report(
        succeeded=False,
        duration_seconds=4.0,
        mart_rows={"dim_customers": None, "fct_transactions": None},
        checks=[
            CheckOutcome("raw/transactions", "transactions_reference_customers", False, "ERROR"),
            CheckOutcome("raw/customers", "customer_ids_unique_and_not_null", True, "ERROR"),
        ],
        checks_not_run=34,
        failed_steps=["raw_transactions_checks"],
        error="1 blocking asset check failed with ERROR severity:\nraw/transactions: ...",
    )

    lines = alert_text(failed).splitlines()

    assert lines[0] == ":x: sales_analytics_job FAILED after 4.0s"
    assert "Failed steps: raw_transactions_checks" in lines
    assert "Error: 1 blocking asset check failed with ERROR severity:" in lines
    assert "Rows per mart: dim_customers not built, fct_transactions not built" in lines
    assert "Checks: 1 passed, 1 failed, 34 not run" in lines
    assert "  failed [ERROR] raw/transactions: transactions_reference_customers" in lines


def test_long_lists_and_errors_are_cut() -> None:
    many = [CheckOutcome("raw/customers", f"check_{n:02d}", False, "WARN") for n in range(15)]

    text = alert_text(report(checks=many, succeeded=False, error="x" * 1000))

    assert text.count("  failed [WARN]") == MAX_NAMED_CHECKS
    assert "… and 5 more failed checks" in text
    assert max(len(line) for line in text.splitlines()) < 320


def test_payload_is_slack_compatible_json_with_text_and_a_link() -> None:
    payload = alert_payload(report(error="a <b> & c"))

    assert json.loads(json.dumps(payload)) == payload
    assert payload["text"] == alert_text(report(error="a <b> & c"))
    sections = [block for block in payload["blocks"] if block["type"] == "section"]
    assert all(block["text"]["type"] == "mrkdwn" for block in sections)
    link = payload["blocks"][-1]["elements"][0]["text"]
    assert link == f"<{URL}|Open run 01234567 in Dagster>"


def test_markup_characters_are_escaped_in_blocks() -> None:
    payload = alert_payload(report(succeeded=False, error="a <b> & c"))

    details = payload["blocks"][1]["text"]["text"]
    assert "Error: a &lt;b&gt; &amp; c" in details
