"""Shared fixtures: every test starts with gradlens_core's global state at its defaults."""

from __future__ import annotations

import pytest

import gradlens_core
from gradlens_core import _events, _grad_mode


@pytest.fixture(autouse=True)
def _clean_global_state():
    """Grad mode on, anomaly detection off, no event listener — before and after each test."""
    _grad_mode._state.enabled = True
    _grad_mode._anomaly[0] = False
    leaked_before = _events.listener_count()
    yield
    grad_enabled = gradlens_core.is_grad_enabled()
    anomaly = gradlens_core.autograd.is_anomaly_enabled()
    leaked = _events.listener_count() - leaked_before
    _grad_mode._state.enabled = True
    _grad_mode._anomaly[0] = False
    if leaked > 0:
        _events._listeners.clear()
        _events._refresh()
    assert grad_enabled, "the test left grad mode disabled"
    assert not anomaly, "the test left anomaly detection on"
    assert leaked <= 0, "the test left an event listener subscribed"


@pytest.fixture
def torch():
    """Real PyTorch, or skip the test."""
    return pytest.importorskip("torch")
