"""A compact mapping of ``(row, *column) → number`` for a study's measures.

A study of 10,000 segmentations has millions of values (item, structure, side, variable): as a
``dict`` of tuples and floats that is over a gigabyte. :class:`KeyedValues` keeps them in a
numpy array, one row per item (or subject) and one column per (structure, side, variable), with
NaN for a missing value, and reads like the dict it replaces: ``values[(item, path, side, var)]``,
``.get``, ``in``, ``len``, iteration over the keys in the order rows and columns first appeared.
Columns that only ever held integers give integers back.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, MutableMapping

import numpy as np

_CHUNK = 512  # rows turned into Python objects at a time


class KeyedValues(MutableMapping[tuple, float]):
    """``(row, *column)`` → number, stored densely; NaN is "no value" (NaN is never stored)."""

    def __init__(self) -> None:
        self._rows: dict[object, int] = {}
        self._columns: dict[tuple, int] = {}
        self._row_keys: list[object] = []
        self._column_keys: list[tuple] = []
        self._data = np.full((16, 16), np.nan)
        self._count = 0
        self._floats: set[int] = set()  # columns that hold a non-integer value

    def _place(self, key: tuple, create: bool) -> tuple[int, int] | None:
        row, column = key[0], key[1:]
        r, c = self._rows.get(row), self._columns.get(column)
        if r is None or c is None:
            if not create:
                return None
            if r is None:
                r = self._rows[row] = len(self._row_keys)
                self._row_keys.append(row)
            if c is None:
                c = self._columns[column] = len(self._column_keys)
                self._column_keys.append(column)
            rows, columns = self._data.shape
            if r >= rows or c >= columns:
                grown = np.full((max(rows, 2 * (r + 1)), max(columns, 2 * (c + 1))), np.nan)
                grown[:rows, :columns] = self._data
                self._data = grown
        return r, c

    def __setitem__(self, key: tuple, value: float) -> None:
        number = float(value)
        if math.isnan(number):
            self.__delitem__(key) if key in self else None
            return
        r, c = self._place(key, True)  # type: ignore[misc]
        if math.isnan(self._data[r, c]):
            self._count += 1
        self._data[r, c] = number
        if not isinstance(value, int | np.integer):
            self._floats.add(c)

    def __getitem__(self, key: tuple) -> float:
        place = self._place(key, False) if isinstance(key, tuple) and key else None
        if place is None:
            raise KeyError(key)
        number = self._data[place]
        if math.isnan(number):
            raise KeyError(key)
        return float(number) if place[1] in self._floats else int(number)

    def __delitem__(self, key: tuple) -> None:
        place = self._place(key, False)
        if place is None or math.isnan(self._data[place]):
            raise KeyError(key)
        self._data[place] = np.nan
        self._count -= 1

    def __contains__(self, key: object) -> bool:
        place = self._place(key, False) if isinstance(key, tuple) and key else None
        return place is not None and not math.isnan(self._data[place])

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[tuple]:
        rows, columns = np.nonzero(~np.isnan(self._data[: len(self._row_keys), : len(self._column_keys)]))
        for r, c in zip(rows.tolist(), columns.tolist(), strict=True):
            yield (self._row_keys[r], *self._column_keys[c])

    def items(self):  # type: ignore[override]
        """(key, value) pairs, some rows at a time (faster than a lookup per key)."""
        data = self._data[: len(self._row_keys), : len(self._column_keys)]
        for start in range(0, data.shape[0], _CHUNK):
            block = data[start : start + _CHUNK]
            rows, columns = np.nonzero(~np.isnan(block))
            values = block[rows, columns].tolist()
            for r, c, value in zip(rows.tolist(), columns.tolist(), values, strict=True):
                yield (self._row_keys[start + r], *self._column_keys[c]), (value if c in self._floats else int(value))

    def row(self, row: object) -> dict[tuple, float]:
        """The values of one row: column → value."""
        r = self._rows.get(row)
        if r is None:
            return {}
        values = self._data[r, : len(self._column_keys)]
        present = np.flatnonzero(~np.isnan(values))
        return {
            self._column_keys[c]: (v if c in self._floats else int(v))
            for c, v in zip(present.tolist(), values[present].tolist(), strict=True)
        }

    def values(self):  # type: ignore[override]
        return (value for _, value in self.items())

    def frame(self) -> tuple[list[object], list[tuple], np.ndarray]:
        """Row keys, column keys and the values (rows × columns, NaN where none; a view)."""
        return self._row_keys, self._column_keys, self._data[: len(self._row_keys), : len(self._column_keys)]

    def set_block(self, rows: list[object], columns: list[tuple], block: np.ndarray) -> None:
        """Set many values at once (``block``: rows × columns; NaN cells are left out)."""
        for row in rows:
            self._place((row, *columns[0]), True)
        for column in columns:
            self._place((rows[0], *column), True)
        r = np.array([self._rows[row] for row in rows])
        c = np.array([self._columns[column] for column in columns])
        target = self._data[np.ix_(r, c)]
        given = ~np.isnan(block)
        self._count += int((given & np.isnan(target)).sum()) - int((~given & ~np.isnan(target)).sum())
        self._data[np.ix_(r, c)] = block
        self._floats.update(c.tolist())

    def set_row(self, row: object, values: dict[tuple, float]) -> None:
        """``self[(row, *column)] = value`` for every column → value of ``values``, at once."""
        numbers = [float(v) for v in values.values()]
        if any(math.isnan(n) for n in numbers):  # NaN removes a value: one at a time
            for column, value in values.items():
                self[(row, *column)] = value
            return
        if not numbers:
            return
        columns = list(values)
        new = [column for column in columns if column not in self._columns]
        for column in new or columns[:1]:
            self._place((row, *column), True)
        r = self._rows.get(row)
        if r is None:
            r = self._place((row, *columns[0]), True)[0]  # type: ignore[index]
        c = np.fromiter(map(self._columns.__getitem__, columns), dtype=np.intp, count=len(columns))
        self._count += int(np.isnan(self._data[r, c]).sum())
        self._data[r, c] = numbers
        floats = [i for i, v in enumerate(values.values()) if not isinstance(v, int | np.integer)]
        self._floats.update(c[floats].tolist())

    def float_columns(self) -> np.ndarray:
        """Per column (in :meth:`frame`'s order): True where it holds a non-integer value."""
        return np.isin(np.arange(len(self._column_keys)), list(self._floats))

    def aligned(self, rows: list[object], columns: list[tuple]) -> np.ndarray:
        """The values at these rows and columns (another mapping's keys), NaN where there is none."""
        out = np.full((len(rows), len(columns)), np.nan)
        r = [(i, self._rows[k]) for i, k in enumerate(rows) if k in self._rows]
        c = [(j, self._columns[k]) for j, k in enumerate(columns) if k in self._columns]
        if r and c:
            (ri, rs), (cj, cs) = zip(*r, strict=True), zip(*c, strict=True)
            out[np.ix_(ri, cj)] = self._data[np.ix_(rs, cs)]
        return out

    def column_keys(self) -> list[tuple]:
        """The columns, (structure, side, variable) for a study's values."""
        return list(self._column_keys)

    def __repr__(self) -> str:
        return f"KeyedValues({len(self)} values, {len(self._row_keys)} rows × {len(self._column_keys)} columns)"
