"""HTTP client for a Fake Store-compatible products API, as a Dagster resource."""

from __future__ import annotations

import json
import time
from typing import Any

import dagster as dg
import httpx
from pydantic import PrivateAttr

from sales_analytics.core.products import InvalidProductsPayload
from sales_analytics.core.settings import DEFAULT_PRODUCTS_URL

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504, 520, 521, 522, 523, 524})


class ProductsApiUnavailable(RuntimeError):
    """The API could not be reached (or kept failing transiently) after every retry."""


class FakeStoreResource(dg.ConfigurableResource):
    """GET {base_url}/products with timeouts, bounded retries with exponential backoff on
    timeouts, connection errors, 429 and 5xx, and a cap on the response size. Any other answer
    that is not a JSON document is an error: a reachable API that sends bad data must not be
    mistaken for an outage."""

    base_url: str = DEFAULT_PRODUCTS_URL
    offline: bool = False
    connect_timeout_seconds: float = 5.0
    read_timeout_seconds: float = 15.0
    max_retries: int = 3
    backoff_seconds: float = 0.5
    max_response_bytes: int = 5_000_000

    _client: httpx.Client = PrivateAttr()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._client = httpx.Client(
            base_url=self.base_url,
            timeout=httpx.Timeout(self.read_timeout_seconds, connect=self.connect_timeout_seconds),
            follow_redirects=False,
            headers={"Accept": "application/json"},
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self._client.close()

    @property
    def products_url(self) -> str:
        return f"{self.base_url.rstrip('/')}/products"

    def fetch_products(self) -> Any:
        """The decoded JSON body of /products; ProductsApiUnavailable once retries run out."""
        log = dg.get_dagster_logger()
        attempts = self.max_retries + 1
        for attempt in range(1, attempts + 1):
            try:
                status, body = self._get("/products")
            except httpx.TransportError as error:
                problem = f"{type(error).__name__}: {error}"
            else:
                if status in RETRYABLE_STATUS:
                    problem = f"HTTP {status}"
                else:
                    return self._decode(status, body)
            if attempt == attempts:
                break
            delay = self.backoff_seconds * 2 ** (attempt - 1)
            log.warning(
                f"{self.products_url} attempt {attempt}/{attempts} failed ({problem}); "
                f"retrying in {delay:.2f}s"
            )
            time.sleep(delay)
        raise ProductsApiUnavailable(
            f"{self.products_url} could not be reached after {attempts} attempts: {problem}"
        )

    def _get(self, path: str) -> tuple[int, bytes]:
        with self._client.stream("GET", path) as response:
            if response.is_redirect:
                target = response.headers.get("location", "?")
                raise InvalidProductsPayload(
                    f"{self.products_url} answered HTTP {response.status_code} redirecting to "
                    f"{target}; redirects are not followed"
                )
            chunks: list[bytes] = []
            size = 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > self.max_response_bytes:
                    raise InvalidProductsPayload(
                        f"{self.products_url} sent more than {self.max_response_bytes} bytes"
                    )
                chunks.append(chunk)
            return response.status_code, b"".join(chunks)

    def _decode(self, status: int, body: bytes) -> Any:
        if not 200 <= status < 300:
            raise InvalidProductsPayload(f"{self.products_url} answered HTTP {status}")
        try:
            return json.loads(body)
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            preview = body[:80].decode("utf-8", errors="replace")
            raise InvalidProductsPayload(
                f"{self.products_url} did not answer JSON ({error}); body starts {preview!r}"
            ) from error
