"""Read-only sequences backed by a numpy array, made Python values only when read.

A baseline entry's samples and per-call seconds are these: the stored comparison
sorts the array, and a save encodes it, so the 10,000 entries of a big baseline
never become lists of Python numbers unless something reads them one by one (a
``pytest_perfbudget_compare`` hook, say).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Generic, TypeVar, overload

import numpy as np
import numpy.typing as npt

__all__ = ["ArrayValues", "seconds_of"]

T = TypeVar("T", int, float)


class ArrayValues(Sequence[T], Generic[T]):
    """The values of :attr:`array` as a sequence; the Python list is made when first read.

    ``numpy.asarray`` of it is the array itself, read-only, without a copy.
    """

    __slots__ = ("_list", "array")

    def __init__(self, array: npt.NDArray[Any]) -> None:
        array.flags.writeable = False
        self.array = array
        self._list: list[T] | None = None

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        if copy:
            return np.array(self.array, dtype=dtype)
        return self.array if dtype is None else self.array.astype(dtype, copy=False)

    def _values(self) -> list[T]:
        if self._list is None:
            self._list = self.array.tolist()
        return self._list

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._values()[index]

    def __len__(self) -> int:
        return len(self.array)

    def __iter__(self) -> Iterator[T]:
        return iter(self._values())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._values() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._values()!r})"


def seconds_of(sample_ns: Sequence[int], iterations: int) -> ArrayValues[float]:
    """Per-call seconds of nanosecond samples of ``iterations`` calls each: ``ns * (1e-9 /
    iterations)`` for each, as Python computes it."""
    return ArrayValues(np.asarray(sample_ns, dtype=np.float64) * (1e-9 / iterations))
