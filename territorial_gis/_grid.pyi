"""Type stub of the compiled grid kernel (territorial_gis/_grid.pyx)."""

import numpy as np

MOVE_OFFSETS: np.ndarray
MODE_LINK: int
MODE_WALK: int
MODE_ROAD: int
MODE_BOAT: int
MODE_WAIT: int
MODE_CROSSING: int
N_LEGS: int

def move_table(moves: int) -> np.ndarray: ...
def grid_nearest(friction: np.ndarray, nrows: int, ncols: int, move_dist: np.ndarray, moves: int,
                 seed_node: np.ndarray, seed_cost: np.ndarray, extra_indptr: np.ndarray | None = ...,
                 extra_indices: np.ndarray | None = ..., extra_data: np.ndarray | None = ...,
                 extra_mode: np.ndarray | None = ..., n_extra: int = ..., elevation: np.ndarray | None = ...,
                 reverse: bool = ..., cut_corners: bool = ..., limit: float = ..., labels: bool = ...,
                 legs: bool = ..., bucket_width: float = ..., n_buckets: int = ...,
                 pred: np.ndarray | None = ...
                 ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None, np.ndarray | None]: ...
