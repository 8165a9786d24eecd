"""The edges: scenario files, roll-call data, country codes, the registry, calibration bundles,
result files, plots and progress bars.

Over :mod:`sim.core` only; never fits a model or runs a replay.
"""
