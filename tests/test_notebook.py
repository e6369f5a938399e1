"""The example notebook runs offline on the embedded data, top to bottom, without an error.

``examples/notebooks/quickstart.ipynb`` is executed with nbclient in this interpreter's kernel;
its outputs are checked against the library's own results computed here (the number of
classified areas and the MRA count must match what the notebook shows).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

nbclient = pytest.importorskip("nbclient")
nbformat = pytest.importorskip("nbformat")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "examples" / "notebooks" / "quickstart.ipynb"

pytestmark = pytest.mark.slow


def _text(cell: dict) -> str:
    out = []
    for o in cell.get("outputs", []):
        if "text" in o:
            out.append(o["text"])
        data = o.get("data", {})
        if "text/plain" in data:
            out.append(data["text/plain"])
    return "\n".join(out)


def test_quickstart_notebook_runs_offline(tmp_path: Path) -> None:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    env_cache = os.environ.get("TGIS_CACHE_DIR")
    os.environ["TGIS_CACHE_DIR"] = str(tmp_path / "cache")
    try:
        client = nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                                         resources={"metadata": {"path": str(NOTEBOOK.parent)}})
        client.execute()
    finally:
        if env_cache is None:
            os.environ.pop("TGIS_CACHE_DIR", None)
        else:
            os.environ["TGIS_CACHE_DIR"] = env_cache
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors, json.dumps(errors)[:2000]
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "RoadNetwork(" in _text(code[1])
    assert "'employment_centre': 15" in _text(code[2]) and "'market': 15" in _text(code[2])
    # the summary the notebook shows is the library's own, computed again here
    import territorial_gis as tg

    net = tg.build_network(ROOT / "data" / "porto_alegre" / "poa_osm.pbf")
    loc = tg.load_places(ROOT / "data" / "porto_alegre" / "poa_hexgrid.csv")
    tiers = {"employment_centre": tg.derive_tier(loc, "jobs>=3000"),
             "market": tg.load_places(ROOT / "data" / "porto_alegre" / "poa_points_of_interest.csv")}
    classes = tg.classify_areas(tg.travel_times_to_nearest(net, loc, tiers),
                                rules=ROOT / "data" / "porto_alegre" / "rules.toml",
                                rasters={"dem": ROOT / "data" / "porto_alegre" / "poa_elevation.tif"})
    shown = _text(code[4])
    for row in classes.summary().itertuples():
        assert f"{row.area_class}" in shown and f" {row.n_areas} " in shown
