"""Settings for alerts, retries and freshness: defaults, parsing, and errors that name the variable
(and never show the webhook URL, a secret)."""

from __future__ import annotations

import pytest

from sales_analytics.core.settings import Settings, SettingsError

SECRET_URL = "https://hooks.example.com/services/T000/B000/very-secret-token"


def test_defaults_match_the_old_pipeline() -> None:
    settings = Settings.from_env({})

    assert settings.webhook_configured is False
    assert settings.ui_url == "http://127.0.0.1:3000"
    assert settings.retry_count == 1
    assert settings.retry_delay_seconds == 300
    assert settings.freshness_hours == 26


def test_values_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "SALES_ANALYTICS_WEBHOOK_URL": SECRET_URL,
            "SALES_ANALYTICS_UI_URL": "https://dagster.example.com/",
            "SALES_ANALYTICS_RETRY_COUNT": "3",
            "SALES_ANALYTICS_RETRY_DELAY_SECONDS": "0.5",
            "SALES_ANALYTICS_FRESHNESS_HOURS": "30",
        }
    )

    assert settings.webhook_configured is True
    assert settings.ui_url == "https://dagster.example.com"
    assert (settings.retry_count, settings.retry_delay_seconds) == (3, 0.5)
    assert settings.freshness_hours == 30


def test_settings_hold_no_secret() -> None:
    settings = Settings.from_env({"SALES_ANALYTICS_WEBHOOK_URL": SECRET_URL})

    assert "secret-token" not in repr(settings)


def test_a_bad_webhook_url_is_refused_without_showing_it() -> None:
    with pytest.raises(SettingsError, match="SALES_ANALYTICS_WEBHOOK_URL") as raised:
        Settings.from_env({"SALES_ANALYTICS_WEBHOOK_URL": "hooks.example.com/very-secret-token"})

    assert "secret" in str(raised.value)
    assert "very-secret-token" not in str(raised.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SALES_ANALYTICS_RETRY_COUNT", "-1"),
        ("SALES_ANALYTICS_RETRY_COUNT", "1.5"),
        ("SALES_ANALYTICS_RETRY_DELAY_SECONDS", "-5"),
        ("SALES_ANALYTICS_RETRY_DELAY_SECONDS", "soon"),
        ("SALES_ANALYTICS_FRESHNESS_HOURS", "0"),
        ("SALES_ANALYTICS_FRESHNESS_HOURS", "nan"),
        ("SALES_ANALYTICS_UI_URL", "localhost:3000"),
    ],
)
def test_unusable_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        Settings.from_env({name: value})


def test_retries_can_be_switched_off() -> None:
    settings = Settings.from_env(
        {"SALES_ANALYTICS_RETRY_COUNT": "0", "SALES_ANALYTICS_RETRY_DELAY_SECONDS": "0"}
    )

    assert (settings.retry_count, settings.retry_delay_seconds) == (0, 0)
