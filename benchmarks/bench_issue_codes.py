"""Held-out accuracy of the issue-code classifiers (sim.estimate.issue_codes), per code.

Trains on the roll calls Voeten coded and prints, for each of the six codes, the accuracy on
the held-out part, the accuracy of always answering the commoner label, and the tag's F1:
first holding out the latest fifth (as the tags are used: on roll calls newer than any trained
on), then a shuffled fifth (higher: a resolution voted every year has earlier copies in the
training part). With the path of a UN Library CSV, roll calls the Library also holds are
described by its words (title, agenda title, subjects), as `sim data fetch --source
un-library` trains; without, by the record's titles only.

    SIM_DATA_DIR=../shared/data python benchmarks/bench_issue_codes.py [LIBRARY_CSV]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

from sim.estimate.issue_codes import fit_issue_codes
from sim.io.data import load_roll_calls
from sim.io.un_library import match_record, read_library_csv
from sim.run.un_library import issue_training_set


def main() -> None:
    """Print the held-out scores of both splits."""
    record = load_roll_calls()
    library = matches = None
    if len(sys.argv) > 1:
        library = read_library_csv(Path(sys.argv[1])).roll_calls
        matches = match_record(library, record)
        print(f"{int((matches.rule != '').sum())} of the Library's roll calls matched the record")
    texts, labels = issue_training_set(record, library, matches)
    print(
        f"{len(texts)} coded roll calls with words, {record.roll_calls.date.min().date()} to "
        f"{record.roll_calls.date.max().date()}"
    )
    pd.set_option("display.width", 120)
    for chronological in (True, False):
        start = time.perf_counter()
        scores = fit_issue_codes(texts, labels, chronological=chronological).scores
        split = "shuffled fifth held out"
        if chronological:
            held = record.roll_calls.loc[labels.index[-int(scores.n_test.iloc[0]) :], "date"]
            split = f"latest fifth held out: {held.min().date()} to {held.max().date()}"
        print(f"\n{split} ({time.perf_counter() - start:.1f} s, fit twice)")
        print(scores[["accuracy", "baseline", "f1", "share", "n_train", "n_test"]].round(3))


if __name__ == "__main__":
    main()
