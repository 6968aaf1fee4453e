"""Exceptions raised by pytest-perfbudget. A leaf module: it imports nothing of ours."""

from __future__ import annotations


class PerfbudgetError(Exception):
    """Base class of every error this plugin raises on purpose."""


class SpecError(PerfbudgetError):
    """A budget (marker arguments or a pyproject pattern) is not valid."""


class ConfigError(PerfbudgetError):
    """``[tool.perfbudget]`` or a command-line option holds a bad value."""


class BaselineError(PerfbudgetError):
    """A baseline or run report cannot be read or written."""


class SchemaVersionError(BaselineError):
    """A baseline or run report was written by a newer, incompatible version."""


class RepetitionError(PerfbudgetError):
    """A test body that passed once failed when it was repeated for measuring."""


class RecheckError(PerfbudgetError):
    """A flagged regression could not be measured again in a fresh pytest process."""
