"""Writing results: atomic files, manifests, package versions.

Every run writes its files through :func:`atomic_write_text` (a temporary file in the same folder,
flushed to disk, then :func:`os.replace`), so an interrupted run never leaves a half-written file,
and a failed run writes nothing. Files get the mode the user's umask gives a new file (0644 under
the usual 022: colleagues can read them), not the temporary file's private 0600. Manifests hold
no wall-clock time: the same inputs give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import math
import os
import platform
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "csv_text",
    "game_manifest",
    "git_commit",
    "json_safe",
    "json_text",
    "package_versions",
    "write_json",
    "write_run",
]

PACKAGES = (
    "sim",
    "numpy",
    "scipy",
    "pandas",
    "mesa",
    "pydantic",
    "xarray",
    "pycountry",
    "threadpoolctl",
)


def atomic_write_text(path: Path, text: str) -> None:
    """Write `text` to `path` atomically (UTF-8, line ends as given)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write `data` to `path` atomically, with the mode the umask gives a new file.

    The bytes are flushed to disk (``fsync``) before the temporary file is renamed over `path`,
    so a crash leaves either the old file or the new one, never an empty one.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fchmod(handle.fileno(), 0o666 & ~_umask())
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    """The process's umask: from ``/proc/self/status`` where there is one (Linux), else read by
    setting it and restoring it at once (which another thread could see for an instant).
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def json_safe(value: Any) -> Any:
    """`value` with numpy scalars as Python numbers and booleans, tuples as lists, dates as ISO
    text and non-finite floats as None (JSON has no NaN), recursively through dicts and lists.

    Examples
    --------
    >>> json_safe({"a": np.float64(0.5), "b": (np.int64(2), float("nan"))})
    {'a': 0.5, 'b': [2, None]}
    """
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def json_text(value: Any) -> str:
    """`value` (through :func:`json_safe`) as sorted, indented JSON with a final newline."""
    return json.dumps(json_safe(value), indent=2, sort_keys=True, allow_nan=False) + "\n"


def write_json(path: Path, value: Any) -> None:
    """Write `value` as sorted, indented JSON (:func:`json_text`), atomically."""
    atomic_write_text(path, json_text(value))


def csv_text(frame: pd.DataFrame) -> str:
    r"""`frame` as CSV text without its index, floats at full precision (``%.17g``), ``\n``
    line ends: the format of every result table.
    """
    return frame.to_csv(index=False, float_format="%.17g", lineterminator="\n")


def write_run(
    out: Path,
    texts: Mapping[str, str],
    manifest: Mapping[str, Any],
    *,
    figures: Mapping[str, Callable[[Path], None]] | None = None,
) -> Path:
    """Write a run's files into `out` and return it: `texts` (file name -> rendered text), then
    `figures` (file name -> a function drawing it to a path), then ``manifest.json`` with
    ``files`` listing them all.

    Everything textual is rendered by the caller before this is called and the manifest before
    the first file is written, so a run that fails while rendering leaves no file behind, and a
    folder with a manifest is complete. Each file is written atomically.
    """
    figures = figures or {}
    manifest_text = json_text({**manifest, "files": [*texts, *figures]})
    for name, text in texts.items():
        atomic_write_text(out / name, text)
    for name, draw in figures.items():
        draw(out / name)
    atomic_write_text(out / "manifest.json", manifest_text)
    return out


def game_manifest(
    *,
    scenario: str,
    scenario_sha256: str,
    calibration_sha256: str,
    seed: int,
    draws: int,
    **choices: Any,
) -> dict[str, Any]:
    """Provenance of a solved game (pricing, targeting, a budget): the scenario, the `choices`
    that define the run (variant, event, ...) in the order given, the seed and draws, the
    calibration, package versions and the git commit. No wall-clock time: reruns give the same
    bytes.
    """
    return {
        "scenario": {"name": scenario, "sha256": scenario_sha256},
        **choices,
        "seed": seed,
        "draws": draws,
        "calibration": {"sha256": calibration_sha256},
        "versions": package_versions(),
        "git_commit": git_commit(),
    }


def package_versions() -> dict[str, str]:
    """Installed versions of the packages a run depends on (for manifests)."""
    out = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def git_commit() -> str:
    """The commit of the checkout `sim` runs from, with ``+dirty`` if it has changes.

    ``"unknown"`` outside a git checkout (e.g. an installed wheel).
    """
    here = Path(__file__).resolve().parents[1]  # the package, sim/
    try:
        head = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
        dirty = subprocess.run(
            ["git", "-C", str(here), "status", "--porcelain", "--untracked-files=no", "--", "."],
            capture_output=True, text=True, check=True, timeout=10,
        ).stdout.strip()  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+dirty" if dirty else "")


@runtime_checkable
class Result(Protocol):
    """What every run's result answers (replay, bargain, target, buy), tested once for all.

    ``table()`` is its main table (one row per member or offer), ``summary()`` a JSON-ready
    dict of what it found, ``manifest()`` what made it (scenario hash, seed, draws, versions),
    and ``write(dir)`` writes its files atomically, manifest last, and returns the folder.
    """

    def table(self) -> Any:
        """The result's main table (a ``pandas.DataFrame``)."""
        ...

    def summary(self) -> dict[str, Any]:
        """What the run found, ready for ``summary.json``."""
        ...

    def manifest(self) -> dict[str, Any]:
        """What made the run: inputs' hashes, seed, draws, package versions."""
        ...

    def write(self, out_dir: str | os.PathLike[str]) -> Any:
        """Write the run's files into `out_dir` and return the folder."""
        ...


def tally_text(tally: Any) -> str:
    """A tally in a few words for a repr: expected counts and P(adopted) (a
    :class:`sim.core.tally.Tally`).
    """
    mean = tally.mean()
    counts = "-".join(f"{mean[a]:.1f}" for a in ("yes", "no", "abstain", "absent"))
    return f"expected {counts} (yes-no-abstain-absent), P(adopted)={tally.prob_pass():.3f}"


def describe(result: Result, title: str, lines: list[str]) -> str:
    """A result as short text (``repr`` and ``summary_text``): a title line, then `lines`."""
    return "\n".join([title, *(f"  {line}" for line in lines)])


def describe_html(result: Result, text: str, *, rows: int = 10) -> str:
    """A result for a notebook (``_repr_html_``): its text summary, then the first `rows` rows
    of its table.
    """
    return f"<pre>{html.escape(text)}</pre>" + result.table().head(rows).to_html(index=False)
