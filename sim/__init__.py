"""sim: vote trading for security support in the UN General Assembly."""

__version__ = "0.1.0"
