"""The measurement engine: timers, calibration and sampling. Imports neither pytest nor numpy.

Import from the modules: ``clock`` (which the plugin loads at startup, before any
test can fake time), ``runner``, ``recorder`` and ``tracing``.
"""
