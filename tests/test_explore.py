"""``sim explore`` in a real browser, and the workbench behind it.

The browser test starts ``sim explore`` on a free loopback port, opens it in headless Chromium
(Debian's ``chromium``, driven by Playwright's Python package through ``executable_path``;
Playwright's own browser download is not used), moves the credibility slider, reads Ukraine's
odds from the page and compares them with ``sim.replay`` on the scenario file changed the same
way, to the page's three decimals, then plays the timeline with Mesa's Reset and Step. A
screenshot goes to ``results/explore/``. Without Chromium, Playwright, the explore extra or
Solara's page assets, it skips and says why.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.core.acts import ACTS

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "icj_referral_2022.toml"
DRAWS = 1000  # the page's default: a slider move answers at this size
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_for(url: str, server: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            out = server.stdout.read() if server.stdout else ""
            pytest.fail(f"sim explore exited with {server.returncode}:\n{out[-3000:]}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.3)
    pytest.fail(f"sim explore did not answer at {url} within {timeout:.0f} s")


def _replay_odds(text: str, tmp_path: Path, name: str) -> tuple[np.ndarray, float]:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = sim.replay(path, n_draws=DRAWS)
    row = result.member("UKR")
    return np.array([row[f"p_{act}"] for act in ACTS]), result.tally.prob_pass()


def _page_odds(page) -> tuple[np.ndarray, float]:
    odds = [float(page.inner_text(f"td.sim-odds[data-act={act}]")) for act in ACTS]
    return np.array(odds), float(page.inner_text("#sim-p-adopted"))


@pytest.fixture(scope="module")
def browser_tools():
    """Playwright and a Chromium, or a skip that says which is missing."""
    pytest.importorskip(
        "solara", reason="the explore extra is not installed (pip install -e '.[explore]')"
    )
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="Playwright's Python package is not installed"
    )
    chromium = _chromium()
    if chromium is None:
        pytest.skip(
            "no Chromium on this machine (Debian: apt-get install chromium; ./dev does it as root)"
        )
    from sim.run.explore import asset_cache, cdn_packages

    missing = [p for p in cdn_packages() if not (asset_cache() / p).is_dir()]
    if missing and os.environ.get("SIM_EXPLORE_CDN") != "1":
        pytest.skip(
            f"Solara's page assets are not cached ({', '.join(missing)}): ./dev fetches them with "
            f"npm; set SIM_EXPLORE_CDN=1 if this machine can reach cdn.jsdelivr.net"
        )
    return sync_api, chromium


def test_a_slider_move_gives_the_replay_of_the_changed_file(browser_tools, tmp_path):
    sync_api, chromium = browser_tools
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "explore", str(SCENARIO), "--port", str(port),
         "--draws", str(DRAWS)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        _wait_for(f"http://127.0.0.1:{port}/", server, timeout=60)
        with sync_api.sync_playwright() as pw:
            context = pw.chromium.launch_persistent_context(
                str(tmp_path / "profile"), executable_path=chromium, args=CHROMIUM_ARGS,
                headless=True, viewport={"width": 1500, "height": 1250},
            )  # fmt: skip
            try:
                page = context.new_page()
                page.goto(f"http://127.0.0.1:{port}/")
                page.wait_for_selector("#sim-focal[data-step='3']", timeout=45_000)
                before, p_before = _page_odds(page)

                # The file as written: the page shows the replay's odds after the vote.
                text = SCENARIO.read_text(encoding="utf-8")
                replayed, p_replayed = _replay_odds(text, tmp_path, "as_written.toml")
                assert np.abs(before - replayed).max() <= 0.0005 + 1e-9
                assert abs(p_before - p_replayed) <= 0.0005 + 1e-9

                # Netanyahu's offer made firm for certain: the credibility slider to its end.
                thumb = page.locator(".sim-slider-credibility [role=slider]")
                thumb.focus()
                thumb.press("End")
                page.wait_for_selector(
                    "text=events.netanyahu_call.offer.credibility = 1.0", timeout=20_000
                )
                page.wait_for_function(
                    "before => document.querySelector('td.sim-odds[data-act=yes]')"
                    ".innerText !== before",
                    arg=f"{before[0]:.3f}", timeout=20_000,
                )  # fmt: skip
                after, p_after = _page_odds(page)
                out = ROOT / "results" / "explore"
                out.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(out / "icj_referral_2022.png"), full_page=True)

                # Mesa's controls: Reset goes back to before the first ask, Step plays a round.
                page.get_by_role("button", name="Reset").click()
                page.wait_for_selector("#sim-focal[data-step='0']", timeout=20_000)
                page.get_by_role("button", name="Step").click()
                page.wait_for_selector("#sim-focal[data-step='1']", timeout=20_000)
                first_round, _ = _page_odds(page)
            finally:
                context.close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    changed = text.replace('credibility = "talks" }', "credibility = 1.0 }")
    assert changed != text
    replayed, p_replayed = _replay_odds(changed, tmp_path, "firm.toml")
    assert np.abs(after - replayed).max() <= 0.0005 + 1e-9, (after, replayed)
    assert abs(p_after - p_replayed) <= 0.0005 + 1e-9
    # A certain offer of air defence moves Ukraine away from yes (the ask is no or abstain).
    assert after[0] < before[0] - 0.05
    # After the first round (Israel's summons) the page shows the model after one step.
    from sim.run.workbench import Workbench

    bench = Workbench(SCENARIO, n_draws=DRAWS)
    settings = bench.defaults().but(credibility=1.0)
    row = bench.view(bench.model(settings, rounds=1)).members.loc["UKR"]
    expected = np.array([row[f"p_{act}"] for act in ACTS])
    assert np.abs(first_round - expected).max() <= 0.0005 + 1e-9


def test_the_workbench_matches_replay_of_the_changed_file(tmp_path):
    """Every slider's setting, answered on the prepared episode, is the replay of the file
    changed as the page lists (the patron's picks of unnamed addressees included)."""
    from sim.run.workbench import Workbench

    bench = Workbench(SCENARIO, n_draws=60, seed=3)
    base = bench.defaults()
    assert bench.overrides(base) == {}
    for settings in (
        base,
        base.but(credibility=0.7, size=0.5),
        base.but(support_value=4.0, tie=1.5),
        bench.defaults("firm_commitment").but(credibility=0.3),
    ):
        view = bench.view(bench.model(settings))
        result = sim.replay(
            bench.scenario_for(settings), variant=settings.variant, n_draws=60, seed=3
        )
        cols = [f"p_{act}" for act in ACTS]
        expected = result.members.set_index("iso3")[cols].to_numpy()
        assert np.abs(view.members[cols].to_numpy() - expected).max() < 1e-12, settings
        assert view.p_adopted == pytest.approx(result.tally.prob_pass(), abs=1e-12)
        # The margin's distribution is a distribution, and agrees with P(adopted).
        assert view.margin_pmf.sum() == pytest.approx(1.0, abs=1e-12)
        adopts = view.margin_pmf[view.margins >= view.rule.min_margin].sum()
        assert adopts == pytest.approx(view.p_adopted, abs=1e-9)


def test_stepping_plays_the_timeline_round_by_round():
    from sim.run.workbench import Workbench

    bench = Workbench(SCENARIO, n_draws=40, seed=5)
    settings = bench.defaults()
    model = bench.model(settings, rounds=0)
    calm = bench.view(model).members.loc["UKR", "p_yes"]
    dates = []
    while model.running:
        model.step()
        dates.append(model.current_date)
    assert dates == list(model.round_dates)
    final = bench.view(model).members.loc["UKR", "p_yes"]
    assert final == pytest.approx(bench.view(bench.model(settings)).members.loc["UKR", "p_yes"])
    assert final < calm  # Israel's asks move Ukraine away from yes


def test_a_bad_file_or_variant_fails_before_the_server_starts(sim_cli, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('schema = 1\nname = "bad"\n', encoding="utf-8")
    run = sim_cli("explore", bad, "--port", _free_port())
    assert run.returncode == 2
    assert f"{bad}: title: required key is missing" in run.stderr
    run = sim_cli("explore", SCENARIO, "--variant", "nope", "--port", _free_port())
    assert run.returncode == 2
    assert "variant: expected one of as_happened" in run.stderr
