"""Fingerprint every result file the commands write, to show a refactor changed no byte.

Runs `sim replay` (every variant of the three shipped scenarios), `sim sweep`, `sim bargain`,
`sim target` and `sim buy` into a temporary folder, hashes each file (manifests without their
``git_commit``, the one field that names the checkout), hashes the committed calibration
bundles, and prints one ``sha256  path`` line per file, sorted. Compare two checkouts::

    .venv/bin/python benchmarks/same_bytes.py > before.txt
    git checkout OTHER && .venv/bin/python benchmarks/same_bytes.py > after.txt
    diff before.txt after.txt && echo same bytes
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIM = [sys.executable, "-m", "sim.cli"]
DRAWS = ["--draws", "500"]
COMMANDS = [
    ["replay", "scenarios/icj_referral_2022.toml", "--all-variants", *DRAWS],
    ["replay", "scenarios/jerusalem_2017.toml", "--all-variants", *DRAWS],
    ["replay", "scenarios/hrc_suspension_2022.toml", "--all-variants", *DRAWS],
    [
        "sweep",
        "scenarios/icj_referral_2022.toml",
        "--set",
        "events.netanyahu_call.offer.credibility=0,talks,firm",
        *DRAWS,
    ],
    [
        "bargain",
        "scenarios/icj_referral_2022.toml",
        "--event",
        "netanyahu_call",
        "--target",
        "UKR",
        *DRAWS,
    ],
    ["target", "scenarios/icj_referral_2022.toml", "--event", "lapid_letters", *DRAWS],
    ["buy", "scenarios/jerusalem_2017.toml", "--event", "trump_threat", "--budget", "5", *DRAWS],
]


def digest(path: Path) -> str:
    """The file's sha256; a manifest's without its git commit."""
    data = path.read_bytes()
    if path.name == "manifest.json":
        manifest = json.loads(data)
        manifest.pop("git_commit", None)
        data = json.dumps(manifest, sort_keys=True).encode()
    return hashlib.sha256(data).hexdigest()


def main() -> None:
    """Run the commands and print the fingerprints."""
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, command in enumerate(COMMANDS):
            out = Path(tmp) / f"{i}_{command[0]}"
            subprocess.run(
                [*SIM, *command, "--out", str(out)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL
            )
            lines += [f"{digest(p)}  {p.relative_to(tmp)}" for p in out.rglob("*") if p.is_file()]
    bundles = ROOT / "sim" / "defaults" / "calibration"
    lines += [
        f"{digest(p)}  defaults/{p.relative_to(bundles)}" for p in bundles.rglob("*") if p.is_file()
    ]
    print("\n".join(sorted(lines, key=lambda line: line.split("  ")[1])))


if __name__ == "__main__":
    main()
