"""Read one item ahead in a second thread: the next batch is read and decoded while the caller writes this one.

Reading and decoding wait on the database and on Python, writing mostly on the database, so the two overlap. Used
by the billing run, the projection runner and the rebuild.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")
_END = object()


def read_ahead(source: Iterator[T], name: str = "read-ahead") -> Iterator[T]:
    """`source`'s items in order; while the caller works on one, a second thread produces the next (never more).

    An error of `source` is raised here, where its item would have come. When the caller stops early, the item
    under way is finished, then `source` is closed (a generator's query and connection end there)."""
    with ThreadPoolExecutor(1, thread_name_prefix=name) as reader:
        upcoming = reader.submit(next, source, _END)
        try:
            while True:
                item = upcoming.result()
                if item is _END:
                    return
                upcoming = reader.submit(next, source, _END)
                yield item  # type: ignore[misc]
        finally:
            wait([upcoming])
            close = getattr(source, "close", None)
            if close is not None:
                close()
