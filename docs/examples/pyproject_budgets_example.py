"""Tests budgeted by ``pyproject_budgets_example.toml``, saved as ``tests/test_parse.py``.

``test_big_document`` matches the pattern ``tests/test_parse.py::test_big*``, so
its body is timed against that budget although it has no marker; ``test_small``
matches no pattern and is not measured. Both pass.
"""

import json

DOCUMENT = json.dumps([{"id": n, "tags": ["a", "b", "c"]} for n in range(500)])


def test_big_document():
    assert len(json.loads(DOCUMENT)) == 500


def test_small():
    assert json.loads("[1, 2]") == [1, 2]
