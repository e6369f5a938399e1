import numpy as np

def build_grid(pa: np.ndarray, pb: np.ndarray, x0: float, y0: float, cell: float, nx: int,
               ny: int) -> tuple[np.ndarray, np.ndarray]: ...
def nearest_pieces(x: np.ndarray, y: np.ndarray, pa: np.ndarray, pb: np.ndarray, cell_start: np.ndarray,
                   cell_items: np.ndarray, x0: float, y0: float, cell: float, nx: int, ny: int,
                   max_dist: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
