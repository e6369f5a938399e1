"""``tgis network``: build and describe road networks."""

from __future__ import annotations

import json

import click

from ._console import echo_result
from ._options import output_option, overwrite_option


@click.group()
def network() -> None:
    """Build road networks from OSM files or road line layers, and describe them."""


_LAYER_ONLY = ("layer", "schema", "crossings", "snap_tolerance_m", "unmapped", "default_class", "season")


@network.command("build")
@click.argument("sources", nargs=-1, required=True, type=click.Path(dir_okay=False), metavar="SOURCE...")
@output_option(help="Network file: .tgnet (fast native) or .gpkg (nodes/edges layers for QGIS).")
@click.option("--profile", type=click.Path(dir_okay=False), default=None,
              help="Speed profile TOML (default: the shipped profile of --mode).")
@click.option("--mode", type=click.Choice(["drive", "walk"]), default="drive", show_default=True)
@click.option("--bbox", type=float, nargs=4, default=None, metavar="W S E N",
              help="Clip to this box (degrees).")
@click.option("--all-components", is_flag=True,
              help="Keep every component instead of the largest strongly connected one (places that cannot "
                   "reach a destination then get NaN and the reason 'disconnected').")
@click.option("--layer", "layers", multiple=True,
              help="Line layers: layer of a multi-layer file (GeoPackage); repeat for several layers of one "
                   "file, or give one per file.")
@click.option("--schema", "schemas", multiple=True,
              help="Line layers: column schema, a TOML file or a built-in name (geofabrik); one for all "
                   "layers or one per layer.")
@click.option("--crossings", is_flag=True,
              help="Line layers: add a node where lines cross without a shared vertex "
                   "(never at bridges/tunnels or across layers).")
@click.option("--snap-tolerance", "snap_tolerance_m", type=float, default=0.0, show_default=True,
              help="Line layers: move dangling ends onto the nearest point of another line within this many "
                   "metres (nothing else moves).")
@click.option("--unmapped", type=click.Choice(["refuse", "default"]), default="refuse", show_default=True,
              help="Line layers: refuse class, surface and season values the schema does not map, or give them "
                   "--default-class, no surface factor, all year.")
@click.option("--default-class", default="unclassified", show_default=True,
              help="Line layers, with --unmapped default: the class of unmapped class values.")
@click.option("--season", type=click.Choice(["all", "wet"]), default="all", show_default=True,
              help="Line layers with a season column: 'wet' drops dry-season-only roads.")
@overwrite_option
@click.pass_context
def build(ctx: click.Context, *, sources: tuple[str, ...], output: str, profile: str | None, mode: str,
          bbox: tuple[float, ...] | None, all_components: bool, layers: tuple[str, ...], schemas: tuple[str, ...],
          crossings: bool, snap_tolerance_m: float, unmapped: str, default_class: str, season: str,
          overwrite: bool) -> None:
    """Build a routable network from SOURCE: an OSM file (.osm.pbf/.osm/.osm.gz/.osm.bz2), or one
    or several road line layers joined into one network (with a repair report beside OUT)."""
    from pathlib import Path

    from territorial_gis._io import atomic_output, check_outputs
    from territorial_gis._osm import is_osm_file
    from territorial_gis.network import build_network

    given = [name for name in _LAYER_ONLY
             if ctx.get_parameter_source(name + "s" if name in ("layer", "schema") else name)
             is not click.core.ParameterSource.DEFAULT]
    spell = {"snap_tolerance_m": "--snap-tolerance"}
    if any(is_osm_file(Path(s)) for s in sources) and given:
        names = ", ".join(spell.get(n, "--" + n.replace("_", "-")) for n in given)
        raise click.UsageError(f"{names} {'applies' if len(given) == 1 else 'apply'} to road line layers, not to the "
                               f"OSM file {next(s for s in sources if is_osm_file(Path(s)))}")
    if "default_class" in given and unmapped != "default":
        raise click.UsageError("--default-class applies only with --unmapped default")
    out = Path(output)
    layer_files = not any(is_osm_file(Path(s)) for s in sources)
    report_path = out.with_name(out.stem + "_repair.json")
    check_outputs(out, overwrite=overwrite, formats=(".tgnet", ".gpkg"))  # fail before the work
    if layer_files:
        check_outputs(report_path, overwrite=overwrite)
    options: dict[str, object] = {}
    if layer_files:
        options = {"layer": list(layers) or None, "schema": list(schemas) or None, "crossings": crossings,
                   "snap_tolerance_m": snap_tolerance_m, "unmapped": unmapped, "default_class": default_class,
                   "season": season}
    net = build_network(list(sources) if len(sources) > 1 else sources[0], profile=profile, mode=mode,
                        bbox=bbox or None, largest_component=not all_components, **options)
    report = getattr(net, "repair_report", None)
    if report:
        from territorial_gis._layers import write_repair_report

        with atomic_output(report_path, overwrite=overwrite) as tmp:  # both files or neither
            write_repair_report(report, tmp)
            net.save(out, overwrite=overwrite)
    else:
        net.save(out, overwrite=overwrite)
    d = net.describe()
    echo_result(f"{out}: {d['nodes']} nodes, {d['directed_edges']} directed edges, {d['road_km']:.1f} km")
    dropped = d.get("dropped") or {}
    if dropped.get("nodes"):
        echo_result(f"dropped outside the largest strongly connected component: {dropped['nodes']} nodes, "
                    f"{dropped['length_km']:.1f} km ({100 * dropped['length_share']:.1f}% of the road length)")
    if report:
        echo_result(f"{report_path}: repair report")


@network.command("info")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
def info(*, path: str, as_json: bool) -> None:
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
        click.echo(f"dropped:      {dr.get('nodes', 0)} nodes, {dr.get('length_km', 0):.1f} km "
                   f"({100 * dr.get('length_share', 0):.1f}% of the road length) outside the largest strongly "
                   "connected component")
    click.echo("km by class:")
    for k, v in d["km_by_class"].items():
        click.echo(f"  {k:<16} {v:10.1f}")
