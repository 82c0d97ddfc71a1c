"""Shared fixtures for the gradlens_core engine tests.

The engine's global state (grad mode, anomaly mode, event listeners) is reset around
each engine test, and a test that leaves it changed fails. Other test modules in this
directory (the debugger's) are left alone.
"""

from __future__ import annotations

import pytest

from gradlens_core import _events, _grad_mode

ENGINE_TEST_MODULES = {
    "test_gradcheck",
    "test_vs_torch",
    "test_events",
    "test_errors",
    "test_tensor_basics",
    "test_views_inplace",
    "test_autograd_engine",
    "test_out",
}


@pytest.fixture(autouse=True)
def _clean_engine_state(request):
    """Grad mode on, anomaly detection off, no new event listener — before and after each engine test."""
    if request.module.__name__.rsplit(".", 1)[-1] not in ENGINE_TEST_MODULES:
        yield
        return
    _grad_mode._state.enabled = True
    _grad_mode._anomaly[0] = False
    listeners_before = set(_events._listeners)
    yield
    grad_enabled = _grad_mode._state.enabled
    anomaly = _grad_mode._anomaly[0]
    leaked = set(_events._listeners) - listeners_before
    _grad_mode._state.enabled = True
    _grad_mode._anomaly[0] = False
    for key in leaked:
        _events._listeners.pop(key, None)
    _events._refresh()
    assert grad_enabled, "the test left grad mode disabled"
    assert not anomaly, "the test left anomaly detection on"
    assert not leaked, "the test left an event listener subscribed"


@pytest.fixture
def torch():
    """Real PyTorch, or skip the test."""
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def shell():
    """An in-process IPython shell with history off, shared by the tests of one module."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    cfg = Config()
    cfg.HistoryManager.enabled = False
    cfg.InteractiveShell.colors = "nocolor"
    sh = InteractiveShell.instance(config=cfg)
    yield sh
    InteractiveShell.clear_instance()
