"""Progress bars (tqdm) shared by the stages; the CLI switches them off with ``-q``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
_ENABLED: bool | None = None


def set_progress(enabled: bool | None) -> None:
    """Force progress bars on (True) or off (False); None restores the default (on a terminal)."""
    global _ENABLED
    _ENABLED = enabled


def progress_enabled() -> bool:
    """Whether progress bars are shown."""
    if _ENABLED is not None:
        return _ENABLED
    return sys.stderr.isatty()


def progress(iterable: Iterable[T], desc: str, total: int | None = None, **kwargs: Any) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm bar when progress bars are enabled."""
    if not progress_enabled():
        yield from iterable
        return
    yield from tqdm(iterable, desc=desc, total=total, leave=False, **kwargs)


def bar(total: int | None, desc: str, unit: str = "it") -> Any:
    """Return a manual tqdm bar (``update``/``close``), disabled when progress is off."""
    return tqdm(total=total, desc=desc, unit=unit, leave=False, disable=not progress_enabled())


class ProgressAwareHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """A log handler that writes through ``tqdm.write``: a log line clears the progress bars on
    its stream, is printed on a line of its own, and the bars are drawn again below it (a plain
    handler would write into the middle of a bar)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            tqdm.write(self.format(record), file=self.stream)
            self.flush()
        except RecursionError:  # pragma: no cover - as logging.StreamHandler
            raise
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
