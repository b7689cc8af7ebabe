"""The run alert: what a finished warehouse run says, as a Slack-compatible payload (no Dagster
here; sensors.py gathers the facts from the Dagster instance)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MAX_NAMED_CHECKS = 10
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class CheckOutcome:
    asset: str
    name: str
    passed: bool
    severity: str

    @property
    def blocks(self) -> bool:
        """A failed ERROR-severity check: the run's data must not be trusted."""
        return not self.passed and self.severity == "ERROR"


@dataclass(frozen=True)
class RunReport:
    job_name: str
    run_id: str
    succeeded: bool
    duration_seconds: float | None
    run_url: str
    # Rows per mart built by this run; a mart the run did not build maps to None.
    mart_rows: Mapping[str, int | None] = field(default_factory=dict)
    checks: Sequence[CheckOutcome] = ()
    checks_not_run: int = 0
    failed_steps: Sequence[str] = ()
    error: str | None = None

    @property
    def failed_checks(self) -> list[CheckOutcome]:
        return [check for check in self.checks if not check.passed]


def run_url(ui_base_url: str, run_id: str) -> str:
    return f"{ui_base_url.rstrip('/')}/runs/{run_id}"


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "unknown time"
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m {secs:02d}s"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{seconds:.1f}s" if seconds < 10 else f"{whole}s"


def _escape(text: str) -> str:
    """Slack reads &, < and > as markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _first_line(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    line = next((part.strip() for part in text.splitlines() if part.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _headline(report: RunReport) -> str:
    outcome = "succeeded in" if report.succeeded else "FAILED after"
    icon = ":white_check_mark:" if report.succeeded else ":x:"
    return f"{icon} {report.job_name} {outcome} {format_duration(report.duration_seconds)}"


def _rows_line(report: RunReport) -> str:
    if not report.mart_rows:
        return "Rows per mart: no marts in this run"
    parts = [
        f"{mart} {'not built' if rows is None else f'{rows:,}'}"
        for mart, rows in sorted(report.mart_rows.items())
    ]
    return "Rows per mart: " + ", ".join(parts)


def _checks_lines(report: RunReport) -> list[str]:
    failed = report.failed_checks
    summary = f"Checks: {len(report.checks) - len(failed)} passed, {len(failed)} failed"
    if report.checks_not_run:
        summary += f", {report.checks_not_run} not run"
    lines = [summary]
    for check in failed[:MAX_NAMED_CHECKS]:
        lines.append(f"  failed [{check.severity}] {check.asset}: {check.name}")
    if len(failed) > MAX_NAMED_CHECKS:
        lines.append(f"  … and {len(failed) - MAX_NAMED_CHECKS} more failed checks")
    return lines


def _failure_lines(report: RunReport) -> list[str]:
    lines = []
    if report.failed_steps:
        lines.append("Failed steps: " + ", ".join(report.failed_steps))
    if report.error:
        lines.append("Error: " + _first_line(report.error))
    return lines


def alert_text(report: RunReport) -> str:
    """The alert as plain text: what the log gets, and the payload's fallback text."""
    lines = [
        _headline(report),
        *_failure_lines(report),
        _rows_line(report),
        *_checks_lines(report),
        f"Run: {report.run_url}",
    ]
    return "\n".join(lines)


def alert_payload(report: RunReport) -> dict[str, Any]:
    """A Slack incoming-webhook payload: `text` for notifications and clients without blocks,
    and blocks that put the same facts in sections with a link to the run."""
    details = [*_failure_lines(report), _rows_line(report), *_checks_lines(report)]
    return {
        "text": alert_text(report),
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": _escape(_headline(report))}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": _escape("\n".join(details))},
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"<{report.run_url}|Open run {report.run_id[:8]} in Dagster>",
                    }
                ],
            },
        ],
    }
