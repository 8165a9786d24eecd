"""The example scripts run as a user runs them (from a folder holding ``scenarios/``) and print
what they promise: scripts that nothing runs rot."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
EXPECTED = {
    "ukraine_variants": "'variant': 'firm_commitment'",
    "credibility_sweep": "p_abstain",
    "price_the_call": "cost ratio  1.0: credibility",
    "whom_to_ask": "the best 51: expected no",
    "spend_a_budget": "members threatened firmly; expected yes",
    "negotiate_the_call": "ISR answers UKR's counter-ask",
}


def test_every_example_is_checked_here():
    assert sorted(p.stem for p in EXAMPLES) == sorted(EXPECTED)


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_the_example_runs_and_prints_its_result(script, tmp_path):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    run = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    assert EXPECTED[script.stem] in run.stdout
    assert (tmp_path / "results").is_dir()  # what it wrote stays in its own folder
