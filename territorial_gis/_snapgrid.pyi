import numpy as np

def cut_pieces(a: np.ndarray, b: np.ndarray, d: np.ndarray, along0: np.ndarray, geom: np.ndarray,
               piece_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]: ...

class SnapGrid:
    x0: float
    y0: float
    cell: float
    nx: int
    ny: int
    n_occupied: int
    dense: bool
    def __init__(self, pa: np.ndarray, pb: np.ndarray, cell: float) -> None: ...
    @property
    def n_registrations(self) -> int: ...
    def nearest(self, x: np.ndarray, y: np.ndarray, max_dist: float,
                max_rings: int = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
