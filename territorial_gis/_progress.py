"""Progress bars (tqdm) shared by the stages; the CLI switches them off with ``-q``."""

from __future__ import annotations

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
