"""Errors raised at the edges: bad scenario files and missing or corrupt data.

Both subclass ``ValueError`` so that callers who do not care about the difference can catch one
thing; the CLI maps them to exit code 2 and a one-line message.
"""

from __future__ import annotations


class ScenarioError(ValueError):
    """A scenario file is invalid: the message names the file, the key and what was expected."""


class DataError(ValueError):
    """Roll-call data are missing, corrupt or malformed: the message names the file and the fix."""
