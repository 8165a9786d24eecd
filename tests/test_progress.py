"""Progress of long fits: drawn on a terminal, silent elsewhere, never changing the result."""

from __future__ import annotations

import io
import sys

import numpy as np
import pytest
from scipy import optimize

from sim.io.progress import fit_progress


class _FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fit(callback) -> optimize.OptimizeResult:
    return optimize.minimize(
        lambda v: (float(np.sum((v - 3.0) ** 2)), 2 * (v - 3.0)),
        np.zeros(5),
        jac=True,
        method="L-BFGS-B",
        callback=callback,
    )


def test_a_terminal_sees_the_fit_and_its_result_is_unchanged(monkeypatch: pytest.MonkeyPatch):
    terminal = _FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with fit_progress("ideal points (me)", True, total=100) as callback:
        drawn = _fit(callback)
    silent = _fit(None)
    assert "ideal points (me)" in terminal.getvalue()
    np.testing.assert_array_equal(drawn.x, silent.x)


def test_nothing_is_drawn_off_a_terminal_or_when_disabled(monkeypatch: pytest.MonkeyPatch):
    pipe = io.StringIO()
    monkeypatch.setattr(sys, "stderr", pipe)
    with fit_progress("ideal points", True) as callback:
        _fit(callback)
    terminal = _FakeTerminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    with fit_progress("ideal points", False) as callback:
        _fit(callback)
    assert pipe.getvalue() == ""
    assert terminal.getvalue() == ""
