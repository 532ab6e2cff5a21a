"""The front-end test's tool check: a missing browser skips on a workstation, fails under CI."""

from __future__ import annotations

import pytest

from tests.browser.harness import require_tool


@pytest.fixture
def no_chromium(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KNOCK_TEST_CHROMIUM", raising=False)
    monkeypatch.setenv("PATH", "/nonexistent")


@pytest.mark.usefixtures("no_chromium")
def test_a_missing_browser_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="chromium is missing"):
        require_tool("chromium", "KNOCK_TEST_CHROMIUM")


@pytest.mark.usefixtures("no_chromium")
def test_a_missing_browser_skips_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="make browser-tools"):
        require_tool("chromium", "KNOCK_TEST_CHROMIUM")


def test_the_variable_names_another_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KNOCK_TEST_CHROMIUM", "/opt/chromium/chrome")
    assert require_tool("chromium", "KNOCK_TEST_CHROMIUM") == "/opt/chromium/chrome"
