"""Delivery of run alerts to a Slack-compatible incoming webhook, as a Dagster resource.

The webhook URL is a secret (whoever has it can post to the channel): it is configured through
dg.EnvVar, so Dagster stores the variable's name and never its value, and it appears in no log
line, error message or metadata this module writes.
"""

from __future__ import annotations

import logging
from typing import Any

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

# httpx logs each request with its full URL (INFO on "httpx"); those records are dropped.
HTTP_CLIENT_LOGGERS = ("httpx", "httpcore")


class _DropRecordsNaming(logging.Filter):
    def __init__(self, secret: str) -> None:
        super().__init__()
        self._secret = secret

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record that cannot be formatted cannot be checked: drop it
            return False
        return self._secret not in message


class WebhookResource(dg.ConfigurableResource):
    """Posts JSON payloads to `url`. Without a URL, the alert text goes to the log instead. A
    webhook that is down, slow or refuses the payload is logged as a warning and never raises:
    an alert must not fail or hold up anything."""

    url: str | None = Field(
        default=None,
        description="Incoming webhook URL; a secret, so set it with dg.EnvVar.",
    )
    timeout_seconds: float = Field(
        default=5.0, gt=0, description="Limit for connecting, sending and reading the answer."
    )

    _client: httpx.Client | None = PrivateAttr(default=None)
    _log_filter: _DropRecordsNaming | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        if not self.url:
            return
        self._log_filter = _DropRecordsNaming(self.url)
        for name in HTTP_CLIENT_LOGGERS:
            logging.getLogger(name).addFilter(self._log_filter)
        self._client = httpx.Client(
            timeout=httpx.Timeout(self.timeout_seconds),
            follow_redirects=False,
            headers={"Content-Type": "application/json"},
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._log_filter is not None:
            for name in HTTP_CLIENT_LOGGERS:
                logging.getLogger(name).removeFilter(self._log_filter)
            self._log_filter = None

    @property
    def configured(self) -> bool:
        return bool(self.url)

    def post(self, payload: dict[str, Any], log: logging.Logger) -> bool:
        """Deliver `payload` (with a "text" field); True when the webhook answered 2xx. On any
        other outcome the text is logged, so the alert is not lost."""
        text = str(payload.get("text", ""))
        if not self.url:
            log.info(f"Run alert (no webhook configured):\n{text}")
            return False
        if self._client is None:
            raise dg.DagsterInvariantViolationError(
                "WebhookResource.post needs the resource set up (use it as a Dagster resource)"
            )
        try:
            # Streamed so that only the status line is read, never a large or endless body.
            with self._client.stream("POST", self.url, json=payload) as response:
                status = response.status_code
        except httpx.HTTPError as error:
            log.warning(
                f"Run alert not delivered: the webhook could not be reached "
                f"({type(error).__name__}: {self._redact(str(error))}). Alert:\n{text}"
            )
            return False
        if 200 <= status < 300:
            log.info(f"Run alert delivered to the webhook (HTTP {status}).")
            return True
        log.warning(f"Run alert not delivered: the webhook answered HTTP {status}. Alert:\n{text}")
        return False

    def _redact(self, message: str) -> str:
        return message.replace(self.url, "<webhook URL>") if self.url else message
