"""``python -m pytest_perfbudget``: the ``perfbudget`` command."""

from __future__ import annotations

from pytest_perfbudget.cli import main

raise SystemExit(main())
