import numpy as np

def nearest_seed(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n_nodes: int, seed_node: np.ndarray,
                 seed_cost: np.ndarray, limit: float = ...,
                 predecessors: bool = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]: ...
