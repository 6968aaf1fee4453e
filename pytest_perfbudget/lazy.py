"""Read-only sequences whose Python values are made only when first read.

A baseline entry's samples and per-call seconds are :class:`ArrayValues`: the
stored comparison sorts the numpy array, and a save encodes it, so the 10,000
entries of a big baseline never become lists of Python numbers unless something
reads them one by one (a ``pytest_perfbudget_compare`` hook, say). Its history is
another :class:`LazyList` (``entry.History``), kept as JSON text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

if TYPE_CHECKING:  # an ArrayValues is made of an array: numpy is imported by then
    import numpy.typing as npt

__all__ = ["ArrayValues", "LazyList", "seconds_of"]

T = TypeVar("T")
N = TypeVar("N", int, float)


class LazyList(Sequence[T]):
    """A read-only sequence of the list :meth:`_values` makes when first needed."""

    __slots__ = ()

    def _values(self) -> list[T]:
        raise NotImplementedError

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> list[T]: ...
    def __getitem__(self, index: int | slice) -> T | list[T]:
        return self._values()[index]

    def __len__(self) -> int:
        return len(self._values())

    def __iter__(self) -> Iterator[T]:
        return iter(self._values())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return self._values() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._values()!r})"


class ArrayValues(LazyList[N], Generic[N]):
    """The values of :attr:`array`; the Python list is made when first read.

    ``numpy.asarray`` of it is the array itself, read-only, without a copy.
    """

    __slots__ = ("_list", "array")

    def __init__(self, array: npt.NDArray[Any]) -> None:
        array.flags.writeable = False
        self.array = array
        self._list: list[N] | None = None

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        if copy:
            return self.array.astype(self.array.dtype if dtype is None else dtype)
        return self.array if dtype is None else self.array.astype(dtype, copy=False)

    def _values(self) -> list[N]:
        if self._list is None:
            self._list = self.array.tolist()
        return self._list

    def __len__(self) -> int:
        return len(self.array)


def seconds_of(sample_ns: Sequence[int], iterations: int) -> ArrayValues[float]:
    """Per-call seconds of nanosecond samples of ``iterations`` calls each: ``ns * (1e-9 /
    iterations)`` for each, as Python computes it."""
    import numpy as np

    return ArrayValues(np.asarray(sample_ns, dtype=np.float64) * (1e-9 / iterations))
