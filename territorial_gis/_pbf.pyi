"""Type stub of the compiled OSM PBF decoder (territorial_gis/_pbf.pyx)."""

import os
from collections.abc import Sequence
from typing import Any

import numpy as np

SUPPORTED_FEATURES: frozenset[str]

class PBFFormatError(ValueError): ...
class PBFUnsupportedError(Exception): ...
class MixedBlocksError(Exception): ...

NodeBlobs = tuple[np.ndarray, np.ndarray]

def scan_ways(path: str | os.PathLike[str], highways: Sequence[str], keys: Sequence[str],
              highway_key: int = 0, skip_nodes: bool = True) -> tuple[dict[str, Any], NodeBlobs]: ...
def locate_nodes(path: str | os.PathLike[str], node_blobs: NodeBlobs, ids: np.ndarray,
                 tag_key: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray, tuple[np.ndarray, list[str]]]: ...
