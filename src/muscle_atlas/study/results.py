"""The study's task results on disk: one JSON line per segmentation, appended as each task ends.

A study of ten thousand segmentations has ten thousand results of about 10 kB of JSON each (as
Python objects, several times that): the client process keeps none of them. :class:`ResultTable`
appends each result to a JSON Lines file as it arrives and keeps only where its line starts and
its few small fields (the item, its grid: about 1 kB); it reads like a read-only ``dict`` (item
id → result), whose results read the rest of their line when a page asks for it. Failed results
are small and stay in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

HEAD = ("id", "ok", "key", "item", "grid", "rendered", "seconds", "cpu_seconds", "thumb", "thumb_info")  # kept in memory


class LazyResult(dict):
    """A result whose small fields (:data:`HEAD`: the item, its grid) are in memory and whose
    others (structures, log, quantities) are read from the table's file on first use."""

    __slots__ = ("_loaded", "_place", "_table")

    def __init__(self, head: dict, table: ResultTable, place: tuple[int, int]) -> None:
        super().__init__(head)
        self._table, self._place, self._loaded = table, place, False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            dict.update(self, self._table._read(self._place))

    def __missing__(self, key: str) -> object:
        self._load()
        if dict.__contains__(self, key):
            return dict.__getitem__(self, key)
        raise KeyError(key)

    def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
        if not dict.__contains__(self, key):
            self._load()
        return dict.get(self, key, default)

    def __contains__(self, key: object) -> bool:
        if not dict.__contains__(self, key):
            self._load()
        return dict.__contains__(self, key)

    def __iter__(self):
        self._load()
        return dict.__iter__(self)

    def __len__(self) -> int:
        self._load()
        return dict.__len__(self)

    def keys(self):  # type: ignore[override]
        self._load()
        return dict.keys(self)

    def values(self):  # type: ignore[override]
        self._load()
        return dict.values(self)

    def items(self):  # type: ignore[override]
        self._load()
        return dict.items(self)

    def copy(self) -> dict:
        self._load()
        return dict(dict.items(self))

    def __eq__(self, other: object) -> bool:
        self._load()
        if isinstance(other, LazyResult):
            other._load()
        return dict.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        self._load()
        return dict.__repr__(self)


class ResultTable(Mapping[str, dict]):
    """Item id → task result, stored in ``path`` (a JSON Lines file, written afresh)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_bytes(b"")
        self._place: dict[str, tuple[int, int]] = {}  # id → (offset, length) of its line
        self._head: dict[str, dict] = {}  # id → the result's small fields (HEAD)
        self._failed: dict[str, dict] = {}
        self._order: list[str] | None = None

    def add(self, result: dict) -> None:
        """Append a result (a later one of the same item replaces it)."""
        item = result["id"]
        self._failed.pop(item, None)
        self._place.pop(item, None)
        self._head.pop(item, None)
        if not result.get("ok"):
            self._failed[item] = result
            return
        line = json.dumps(result, ensure_ascii=False, separators=(",", ":")).encode("utf-8") + b"\n"
        with self.path.open("ab") as handle:
            offset = handle.seek(0, 2)
            handle.write(line)
        self._place[item] = (offset, len(line))
        self._head[item] = {k: result[k] for k in HEAD if k in result}

    def order(self, ids: Iterable[str]) -> None:
        """Iterate in this order (the study's items) instead of the order of arrival."""
        self._order = [i for i in ids if i in self._place or i in self._failed]

    def ok(self, item: str) -> bool:
        return item in self._place

    def ok_ids(self) -> list[str]:
        return [i for i in self if i in self._place]

    def failed(self) -> dict[str, dict]:
        return {i: self._failed[i] for i in self if i in self._failed}

    def view(self, ids: Iterable[str]) -> ResultView:
        return ResultView(self, list(ids))

    def __getitem__(self, item: str) -> dict:
        if item in self._failed:
            return self._failed[item]
        return LazyResult(self._head[item], self, self._place[item])

    def _read(self, place: tuple[int, int]) -> dict:
        with self.path.open("rb") as handle:
            handle.seek(place[0])
            return json.loads(handle.read(place[1]))

    def __contains__(self, item: object) -> bool:
        return item in self._place or item in self._failed

    def __iter__(self) -> Iterator[str]:
        if self._order is not None:
            return iter(self._order)
        return iter([*self._place, *self._failed])

    def __len__(self) -> int:
        return len(self._place) + len(self._failed)

    def values(self):  # type: ignore[override]
        """Every result, read one at a time (the file is read in one pass, in the table's order)."""
        return _Values(self, list(self))

    def items(self):  # type: ignore[override]
        ids = list(self)
        return zip(ids, _Values(self, ids), strict=True)


class ResultView(Mapping[str, dict]):
    """Some of a table's results (the successful ones, say), read from its file when asked for."""

    def __init__(self, table: ResultTable, ids: list[str]) -> None:
        self.table = table
        self.ids = ids
        self._set = set(ids)

    def __getitem__(self, item: str) -> dict:
        if item not in self._set:
            raise KeyError(item)
        return self.table[item]

    def __contains__(self, item: object) -> bool:
        return item in self._set

    def __iter__(self) -> Iterator[str]:
        return iter(self.ids)

    def __len__(self) -> int:
        return len(self.ids)

    def values(self):  # type: ignore[override]
        return _Values(self.table, self.ids)

    def items(self):  # type: ignore[override]
        return zip(self.ids, self.values(), strict=True)


class _Values:
    """The results of some ids (their small fields at once, the rest read when asked for)."""

    def __init__(self, table: ResultTable, ids: list[str]) -> None:
        self.table = table
        self.ids = ids

    def __len__(self) -> int:
        return len(self.ids)

    def __iter__(self) -> Iterator[dict]:
        return (self.table[item] for item in self.ids)
