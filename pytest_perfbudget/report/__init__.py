"""Renderers of verdicts: terminal, JSON run report, Markdown, GitHub annotations."""
