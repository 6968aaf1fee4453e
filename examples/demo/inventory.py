"""A tiny stand-in for the code a real suite would budget."""

from __future__ import annotations

import json
import time

ITEMS = [{"sku": f"SKU-{n:05d}", "price": n % 97, "tags": ["demo", str(n % 7)]} for n in range(500)]


def to_json(items: list[dict[str, object]]) -> str:
    return json.dumps(items, sort_keys=True)


def from_json(text: str) -> list[dict[str, object]]:
    return json.loads(text)


def handle_request(sku: str) -> dict[str, object]:
    """Answer one lookup the fast way: a linear scan is fine for 500 items."""
    return next(item for item in ITEMS if item["sku"] == sku)


def slow_lookup(sku: str) -> dict[str, object]:
    """The same lookup behind a pretend network round trip of ~20 ms."""
    time.sleep(0.02)
    return handle_request(sku)
