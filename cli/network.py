"""``tgis network``: build and describe road networks."""

from __future__ import annotations

import json

import click

from ._console import echo_result
from ._options import output_option, overwrite_option


@click.group()
def network() -> None:
    """Build road networks from OSM files or road line layers, and describe them."""


@network.command("build")
@click.argument("source", type=click.Path(dir_okay=False))
@output_option(help="Network file: .tgnet (fast native) or .gpkg (nodes/edges layers for QGIS).")
@click.option("--profile", type=click.Path(dir_okay=False), default=None,
              help="Speed profile TOML (default: the shipped profile of --mode).")
@click.option("--mode", type=click.Choice(["drive", "walk"]), default="drive", show_default=True)
@click.option("--bbox", type=float, nargs=4, default=None, metavar="W S E N",
              help="Clip to this box (degrees).")
@click.option("--all-components", is_flag=True,
              help="Keep every component instead of the largest strongly connected one.")
@click.option("--layer", default=None, help="Layer of a multi-layer line file (GeoPackage).")
@click.option("--schema", default=None,
              help="Column schema of a line layer: a TOML file or a built-in name (geofabrik).")
@click.option("--crossings", is_flag=True,
              help="Line layers: add a node where lines cross without a shared vertex "
                   "(never at bridges/tunnels or across layers).")
@click.option("--snap-tolerance", "snap_tolerance_m", type=float, default=0.0, show_default=True,
              help="Line layers: snap dangling ends and merge vertices within this many metres.")
@click.option("--unmapped", type=click.Choice(["refuse", "default"]), default="refuse", show_default=True,
              help="Line layers: refuse unmapped road classes, or give them --default-class.")
@click.option("--default-class", default="unclassified", show_default=True)
@click.option("--season", type=click.Choice(["all", "wet"]), default="all", show_default=True,
              help="Line layers with a season column: 'wet' drops dry-season-only roads.")
@overwrite_option
def build(source: str, output: str, profile: str | None, mode: str, bbox: tuple[float, ...] | None,
          all_components: bool, layer: str | None, schema: str | None, crossings: bool,
          snap_tolerance_m: float, unmapped: str, default_class: str, season: str, overwrite: bool) -> None:
    """Build a routable network from SOURCE (.osm.pbf/.osm/.osm.gz/.osm.bz2 or a line layer)."""
    from pathlib import Path

    from territorial_gis._io import check_outputs
    from territorial_gis._osm import is_osm_file
    from territorial_gis.network import build_network

    out = Path(output)
    check_outputs(out, overwrite=overwrite)  # fail before the work, not after
    options = {}
    if not is_osm_file(Path(source)):
        options = {"layer": layer, "schema": schema, "crossings": crossings,
                   "snap_tolerance_m": snap_tolerance_m, "unmapped": unmapped,
                   "default_class": default_class, "season": season}
    net = build_network(source, profile=profile, mode=mode, bbox=bbox or None,
                        largest_component=not all_components, **options)
    net.save(out, overwrite=overwrite)
    report = getattr(net, "repair_report", None)
    if report:
        from territorial_gis._layers import write_repair_report

        write_repair_report(report, out.with_name(out.stem + "_repair.json"), overwrite=True)
    d = net.describe()
    echo_result(f"{out}: {d['nodes']} nodes, {d['directed_edges']} directed edges, {d['road_km']:.1f} km")


@network.command("info")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def info(path: str, as_json: bool) -> None:
    """Describe a network file: counts, km by class, components, bbox, CRS."""
    from territorial_gis.network import load_network

    d = load_network(path).describe()
    if as_json:
        click.echo(json.dumps(d, indent=2, default=str))
        return
    click.echo(f"network:      {path}")
    click.echo(f"source:       {d.get('source')}  (mode {d.get('mode')})")
    click.echo(f"nodes:        {d['nodes']}")
    click.echo(f"edges:        {d['directed_edges']} directed")
    click.echo(f"road length:  {d['road_km']:.1f} km")
    click.echo(f"components:   {d['strong_components']} strong, {d['weak_components']} weak")
    w, s, e, n = d["bbox"]
    click.echo(f"bbox:         {w} {s} {e} {n} (EPSG:4326)")
    click.echo(f"metric CRS:   {d['crs']}")
    if d.get("dropped"):
        dr = d["dropped"]
        click.echo(f"dropped:      {dr.get('nodes', 0)} nodes, {100 * dr.get('length_share', 0):.1f}% of length "
                   "outside the largest strongly connected component")
    click.echo("km by class:")
    for k, v in d["km_by_class"].items():
        click.echo(f"  {k:<16} {v:10.1f}")
