"""The cache of built networks: a study that names the same road file, profile and options as an
earlier one loads the network it built instead of building it again.

The key hashes the source file, the speed profile, the build options and the code that builds
networks (every source file of the package), so a new version of the builder never serves a
network built by an old one. A cache folder that cannot be read or written (read-only, full)
never stops a study: it is used as far as it works, with a warning.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import TerritorialGISError

if TYPE_CHECKING:
    from .config import NetworkSection
    from .network import RoadNetwork

log = logging.getLogger(__name__)
NATIVE = ".tgnet"


def hash_file(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def code_hash() -> str:
    """A hash of the package's source (Python, Cython, shipped profiles and schemas)."""
    root = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for pattern in ("*.py", "*.pyx", "profiles/*.toml", "schemas/*.toml"):
        for p in sorted(root.glob(pattern)):
            h.update(p.name.encode())
            h.update(p.read_bytes())
    return h.hexdigest()


def network_key(net: NetworkSection) -> str | None:
    """The cache key of a network section; None when it is not cacheable (a download)."""
    import dataclasses

    from . import settings
    from .speeds import load_profile

    if not net.source or not os.path.isfile(net.source):
        return None
    prof = load_profile(net.profile, mode=net.mode or settings.mode)
    options = {k: v for k, v in dataclasses.asdict(net).items() if k not in ("source", "profile")}
    for key in ("schema", "polygon"):
        value = options.get(key)
        if isinstance(value, str) and os.path.isfile(value):
            options[key] = hash_file(value)
    payload = {"source_sha256": hash_file(net.source), "profile": prof.to_dict(), "options": options,
               "code": code_hash()}
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:24]


def load_cached(cache_dir: Path | None, key: str | None) -> RoadNetwork | None:
    """The cached network of ``key``, or None (absent, unreadable: rebuilt, with a warning)."""
    from .network import load_network

    if cache_dir is None or key is None:
        return None
    path = cache_dir / "networks" / f"{key}{NATIVE}"
    try:
        if not path.is_file():
            return None
        net = load_network(path)
    except (OSError, TerritorialGISError) as exc:
        log.warning("cached network %s cannot be read (%s); building it again", path, exc)
        return None
    log.info("network loaded from cache %s", path)
    return net


def store(cache_dir: Path | None, key: str | None, net: RoadNetwork) -> bool:
    """Save a built network in the cache; False (with a warning) when the cache is not writable."""
    if cache_dir is None or key is None:
        return False
    path = cache_dir / "networks" / f"{key}{NATIVE}"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        net.save(path, overwrite=True)
    except (OSError, TerritorialGISError) as exc:
        log.warning("network cache %s is not writable (%s); the study goes on without caching", cache_dir, exc)
        return False
    return True


def describe_use(cache_dir: Path | None, key: str | None, hit: bool) -> str:
    """``hit``, ``miss`` or ``off`` for ``study.json``."""
    if cache_dir is None or key is None:
        return "off"
    return "hit" if hit else "miss"

