"""The environment variables that make a pytest process a child of a run, or of
``perfbudget refresh``.

The plugin reads them at every start-up, so they live here, apart from the
code that starts such processes (``paired/``, ``recheck.py``), which a run
imports only when it uses it.
"""

from __future__ import annotations

__all__ = ["RECHECK_ENV", "REFRESH_ONLY_ENV", "WORKER_ENV"]

#: The environment variable that turns a pytest process into a paired worker.
WORKER_ENV = "PERFBUDGET_PAIRED_WORKER"
#: Set in a re-checking process: the path its JSON report goes to. Such a process
#: writes no other output of the plugin's and re-checks nothing itself.
RECHECK_ENV = "PERFBUDGET_RECHECK_REPORT"
#: Set by ``perfbudget refresh --wide`` for its pytest runs: a file holding the JSON list
#: of the node ids to run. Every other test collected is deselected.
REFRESH_ONLY_ENV = "PERFBUDGET_REFRESH_ONLY"
