import numpy as np

class SnapGrid:
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    n_occupied: int
    def __init__(self, pa: np.ndarray, pb: np.ndarray, cell: float) -> None: ...
    @property
    def n_registrations(self) -> int: ...
    def nearest(self, x: np.ndarray, y: np.ndarray, max_dist: float,
                max_rings: int = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
