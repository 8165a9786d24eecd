"""The line every benchmark prints first: what it ran on, and how busy the machine was.

Timings on a shared machine are only comparable with the load beside them (and in CPU seconds
rather than wall seconds), so every benchmark reports the same fields in the same words::

    from machine import machine_line  # benchmarks/ is the script's folder, so on sys.path
    print(machine_line())
"""

from __future__ import annotations

import os
import platform

import numpy as np
import scipy


def machine_line() -> str:
    """``machine: CPU, N cores, load average 1/5/15 min, Python, numpy, scipy``."""
    load = "/".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return (
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {load}; Python {platform.python_version()}, numpy {np.__version__}, "
        f"scipy {scipy.__version__}"
    )
