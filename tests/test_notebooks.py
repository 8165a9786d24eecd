"""The notebooks in notebooks/: each runs without a failing cell and prints the numbers stored in
its committed ``.ipynb`` (same seed, same numbers), and the ``.ipynb`` is its ``.py`` source's pair.

The ``.py`` files (jupytext, percent format) are the sources; the ``.ipynb`` files are generated
and executed from them by ``python tests/test_notebooks.py`` (run it after editing a source or
when the model's numbers change on purpose). Text outputs are compared (printed lines and the
plain-text form of tables); figures are not.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext")
nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
#: Notebooks that need the roll-call data and a window fit (minutes on a shared machine).
NEEDS_DATA = {"forecast_by_title"}
SOURCES = sorted(NOTEBOOKS.glob("*.py"))


def execute(source: Path) -> nbformat.NotebookNode:
    """The notebook of `source`, executed in its folder (a failing cell raises)."""
    notebook = jupytext.read(source)
    notebook.metadata.pop("jupytext", None)
    client = nbclient.NotebookClient(
        notebook,
        timeout=900,
        kernel_name="python3",
        resources={"metadata": {"path": str(source.parent)}},
    )
    client.execute()
    return notebook


def text_outputs(notebook: nbformat.NotebookNode) -> list[list[str]]:
    """Each code cell's printed text and plain-text results, in order."""
    cells = []
    for cell in notebook.cells:
        if cell.cell_type != "code":
            continue
        texts = []
        for output in cell.get("outputs", []):
            if output.output_type == "stream" and output.name == "stdout":
                texts.append(output.text)
            elif output.output_type in ("execute_result", "display_data"):
                texts.append(output.get("data", {}).get("text/plain", ""))
            elif output.output_type == "error":
                texts.append(f"{output.ename}: {output.evalue}")
        cells.append(texts)
    return cells


def code_cells(notebook: nbformat.NotebookNode) -> list[str]:
    """The sources of the code cells."""
    return [c.source for c in notebook.cells if c.cell_type == "code"]


def params() -> list:
    out = []
    for source in SOURCES:
        marks = [pytest.mark.slow] if source.stem in NEEDS_DATA else []
        out.append(pytest.param(source, id=source.stem, marks=marks))
    return out


def test_every_notebook_has_its_generated_pair():
    assert SOURCES, "no notebooks found"
    for source in SOURCES:
        assert source.with_suffix(".ipynb").is_file(), f"{source.name}: no .ipynb"


@pytest.mark.parametrize("source", params())
def test_a_notebook_runs_and_prints_its_committed_numbers(source, request):
    if source.stem in NEEDS_DATA:
        request.getfixturevalue("data_dir")  # skips without the roll calls
    committed = nbformat.read(source.with_suffix(".ipynb"), as_version=4)
    paired = jupytext.read(source)
    assert code_cells(paired) == code_cells(committed), (
        f"{source.name} and its .ipynb differ: run python tests/test_notebooks.py"
    )
    executed = execute(source)
    assert text_outputs(executed) == text_outputs(committed)


def main(names: list[str]) -> None:
    """Regenerate and execute the ``.ipynb`` of the named sources (default: all)."""
    for source in SOURCES:
        if names and source.stem not in names:
            continue
        print(f"executing {source.name}", file=sys.stderr)
        notebook = execute(source)
        notebook.metadata["jupytext"] = {"formats": "ipynb,py:percent"}
        jupytext.write(notebook, source.with_suffix(".ipynb"), fmt="ipynb")


if __name__ == "__main__":
    os.environ.setdefault("SIM_DATA_DIR", str(ROOT.parent / "shared" / "data"))
    main(sys.argv[1:])
