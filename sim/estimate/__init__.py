"""Estimation from roll calls: ideal points (static and dynamic), participation, persistence,
titles, and out-of-sample validation.

Over :mod:`sim.core` and :mod:`sim.io` (the data loader, progress bars).
"""
