import numpy as np

def nearest_seed(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, n_nodes: int, seed_node: np.ndarray,
                 seed_cost: np.ndarray, limit: float = ...,
                 predecessors: bool = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]: ...
def read_nearest(o_pt: np.ndarray, o_e: np.ndarray, o_q: np.ndarray, n_origins: int, edge_u: np.ndarray,
                 edge_v: np.ndarray, weight: np.ndarray, dist: np.ndarray, node_seed: np.ndarray,
                 seed_dest: np.ndarray, d_e: np.ndarray, d_p: np.ndarray, d_pt: np.ndarray,
                 d_leg: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

def nearest_seed_improve(indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, dist: np.ndarray,
                         label: np.ndarray, changed: np.ndarray,
                         limit: float = ...) -> tuple[np.ndarray, np.ndarray]: ...
def trace_paths(pred: np.ndarray, start_nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...

class TablePlan:
    n_nodes: int
    n_sources: int
    n_targets: int
    n_entry_nodes: int
    def __init__(self, indptr: np.ndarray, indices: np.ndarray, data: np.ndarray, seed_ptr: np.ndarray,
                 seed_node: np.ndarray, seed_cost: np.ndarray, entry_ptr: np.ndarray, entry_target: np.ndarray,
                 entry_cost: np.ndarray, n_targets: int, direct_ptr: np.ndarray, direct_target: np.ndarray,
                 direct_time: np.ndarray) -> None: ...

class TableSearch:
    def __init__(self, plan: TablePlan) -> None: ...
    def run(self, sources: np.ndarray, cutoff: float = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
