"""Time what a slider move and a Step of ``sim explore`` cost, at the page's 1,000 draws.

A move (:meth:`sim.run.explore.Session.move`, what the page runs) rebuilds the asks on the
prepared episode, replays the rounds with the first model's calm odds (``calm_from``), computes
what the page shows (every member's mean and 5-95% interval, the exact tally, the margin's
distribution: :meth:`sim.run.workbench.Workbench.view`) and draws the tab's figures, which are
built once and updated in place (:class:`sim.run.workbench.Display`). A move of the principal's
weight also re-prepares the file (the patron may pick other addressees), once per value. A Step
of the negotiation plays one round of ``sim negotiate`` and draws it.

Medians of ``--repeats`` moves per slider: wall clock by stage, and the move's CPU time (all
its threads; on a loaded machine the wall clock overstates what an idle machine takes). The load
average is printed first. With ``--browser`` it also serves the page and times, in headless
Chromium, a credibility move from the key press to the page showing its answer, with the
server's CPU time for it (needs the explore extra, Playwright and Chromium, as the browser test).
Not a test.

Usage: .venv/bin/python benchmarks/bench_explore.py [--draws 1000] [--repeats 7] [--browser]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from machine import machine_line

from sim.run.explore import PageModel, Session
from sim.run.workbench import Settings, Workbench

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "icj_referral_2022.toml"


def move(session: Session, settings: Settings) -> dict[str, float]:
    """One slider move as :meth:`Session.move` makes it (to the vote), timed by stage."""
    c0, t0 = time.process_time(), time.perf_counter()
    session.settings = settings
    model = PageModel(session)
    model.run_until(len(model.round_dates))
    t1 = time.perf_counter()
    session.view(model)
    t2 = time.perf_counter()
    session.images(model)
    t3 = time.perf_counter()
    cpu = time.process_time() - c0
    return {"rounds": t1 - t0, "view": t2 - t1, "figures": t3 - t2, "wall": t3 - t0, "cpu": cpu}


def step(session: Session, model: PageModel) -> dict[str, float]:
    """One Step of Mesa's controller: a round played, then what the page shows drawn."""
    c0, t0 = time.process_time(), time.perf_counter()
    model.step()
    session.images(model)
    return {"wall": time.perf_counter() - t0, "cpu": time.process_time() - c0}


def show(name: str, runs: list[dict[str, float]]) -> None:
    """Print the medians of `runs`."""
    medians = {part: statistics.median(r[part] for r in runs) for part in runs[0]}
    print(f"{name:>28}: " + ", ".join(f"{k} {v:.3f} s" for k, v in medians.items()))


def browser(draws: int, repeats: int) -> None:
    """Credibility moves in headless Chromium: key press to answer, and the server's CPU."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "sim.cli", "explore", str(SCENARIO), "--port", str(port),
         "--draws", str(draws)],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    ticks = os.sysconf("SC_CLK_TCK")

    def server_cpu() -> float:
        fields = Path(f"/proc/{server.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime, all threads

    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2),
            ):
                break
            time.sleep(0.3)
        with sync_playwright() as pw:
            b = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
            page = b.new_page(viewport={"width": 1500, "height": 1250})
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("#sim-focal[data-step='3']", timeout=60_000)
            thumb = page.locator(".sim-slider-credibility [role=slider]")
            thumb.focus()
            thumb.press("End")  # 1.0, then 0.99, 0.98, ...: each a new answer
            page.wait_for_selector("text=offer.credibility = 1.0", timeout=30_000)
            runs = []
            for k in range(1, repeats + 1):
                c0, t0 = server_cpu(), time.perf_counter()
                thumb.press("ArrowLeft")
                page.wait_for_selector(
                    f"text=offer.credibility = {1 - k / 100:.2f}", timeout=30_000
                )
                runs.append({"wall": time.perf_counter() - t0, "server cpu": server_cpu() - c0})
            b.close()
        show("browser: key to answer", runs)
    finally:
        server.terminate()
        server.wait(timeout=10)


def main() -> None:
    """Time each slider's moves and a Step of the negotiation; print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--browser", action="store_true", help="also time moves in Chromium")
    args = parser.parse_args()
    print(machine_line())
    print(f"{args.draws} draws, median of {args.repeats} moves")
    t = time.perf_counter()
    bench = Workbench(SCENARIO, n_draws=args.draws)
    base = bench.defaults()
    session = Session(bench, base)
    move(session, base)  # the page's first model (calm odds, kept) and first figures
    print(f"open (prepare, first model, view, figures): {time.perf_counter() - t:.2f} s")
    sliders = {
        "credibility": lambda k: base.but(credibility=0.3 + 0.05 * k),
        "size": lambda k: base.but(size=0.9 - 0.1 * k),
        "value of support": lambda k: base.but(support_value=3.0 + k),
        "principal's weight": lambda k: base.but(tie=0.2 + 0.2 * k),
    }
    every = []
    for name, at in sliders.items():
        runs = [move(session, at(k)) for k in range(args.repeats)]
        every += runs
        show(name, runs)
    show("any slider", every)
    negotiating = base.but(negotiate=True)
    session.settings = negotiating
    model = PageModel(session)
    steps = [step(session, model) for _ in model.round_dates]
    show(f"negotiation Step ({len(steps)} rounds)", steps)
    if args.browser:
        browser(args.draws, args.repeats)
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"load average at the end: {load}")


if __name__ == "__main__":
    main()
