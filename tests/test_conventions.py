"""Each concept in one place: checks over the package's source (no data, no network).

- Defaults are defined once (``territorial_gis/settings.py``): no other module writes the
  snapping limit or the walking speed as a number.
- The tier time column pattern is built only in ``territorial_gis/columns.py``.
- Study file names are spelled only in ``territorial_gis/outputs.py``.
- No stage module imports another stage (shared machinery lives in private modules below them).
- Functions stay readable: public ones take at most 8 positional parameters; every function has a
  length limit (code lines, the docstring not counted), the few longer ones listed here with their
  reason.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import territorial_gis
from territorial_gis import outputs, settings

PKG = Path(territorial_gis.__file__).resolve().parent
CLI = PKG.parent / "cli"
SOURCES = sorted([*PKG.glob("*.py"), *CLI.glob("*.py")])

#: the stages (public modules named after a step of a study); orchestrators and outputs
#: (pipeline, batch, maps, report) may import them. ``network`` is not among them: the road
#: network is the data every stage routes on
STAGES = {"places", "access", "surfaces", "terrain", "classify", "scenarios", "rai", "corridors",
          "criticality", "appraisal", "hubs", "territories", "microregions", "indicators", "typologies"}
#: stage -> stages it may import, and why
STAGE_IMPORTS_ALLOWED: dict[str, set[str]] = {
    # the classification samples the agro-ecology rasters through the terrain stage's reader
    "classify": {"terrain"},
    # a project's terrain class (flat, rolling, mountainous: its unit cost) from the same reader
    "appraisal": {"terrain"},
    # the Strategy end to end is built from stages: its CECs are a hub-location problem (hubs), its
    # Mexican municipalities are INEGI localities (places) joined to CONAPO's index (indicators)
    "microregions": {"hubs", "places", "indicators"},
}
MAX_POSITIONAL = 8
MAX_LINES = 80
#: public functions allowed above MAX_LINES, with the reason (kept short on purpose)
LONG_FUNCTIONS: dict[str, str] = {}


def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text("utf-8"), filename=str(path))


def _rel(path: Path) -> str:
    return str(path.relative_to(PKG.parent))


def _number_assignments(tree: ast.Module, words: tuple[str, ...]) -> list[tuple[int, str, float]]:
    """(line, name, value) of numbers bound to a name containing one of ``words`` (assignments,
    keyword defaults, keyword arguments, annotated fields)."""
    found = []

    def check(name: str | None, value: ast.AST | None, line: int) -> None:
        if name and value is not None and isinstance(value, ast.Constant) \
                and isinstance(value.value, (int, float)) and not isinstance(value.value, bool) \
                and any(w in name.lower() for w in words):
            found.append((line, name, float(value.value)))

    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for t in node.targets:
                check(getattr(t, "id", getattr(t, "attr", None)), node.value, node.lineno)
        elif isinstance(node, ast.AnnAssign):
            check(getattr(node.target, "id", getattr(node.target, "attr", None)), node.value, node.lineno)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            pos = [*args.posonlyargs, *args.args]
            for a, d in zip(pos[len(pos) - len(args.defaults):], args.defaults, strict=True):
                check(a.arg, d, node.lineno)
            for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True):
                check(a.arg, d, node.lineno)
        elif isinstance(node, ast.keyword):
            check(node.arg, node.value, getattr(node.value, "lineno", 0))
    return found


def test_snapping_limit_and_walking_speed_are_defined_once() -> None:
    offenders = []
    for path in SOURCES:
        if path.name == "settings.py":
            continue
        tree = _tree(path)
        for line, name, value in _number_assignments(tree, ("snap", "walk")):
            if value in (settings.max_snap_m, settings.walk_kph):
                offenders.append(f"{_rel(path)}:{line} {name} = {value:g}")
    # the same values written on a line that names the setting (positional arguments, literals);
    # a line that says where the default lives (``settings.walk_kph``) documents it
    values = {("max_snap", "snap_m"): re.compile(rf"(?<![\w.]){settings.max_snap_m:g}(\.0)?(?![\w.])"),
              ("walk_kph", "walk_speed", "walking speed"):
                  re.compile(rf"(?<![\w.]){settings.walk_kph:g}(\.0)?(?![\w.])")}
    for path in SOURCES:
        if path.name == "settings.py":
            continue
        for i, line in enumerate(path.read_text("utf-8").splitlines(), 1):
            code = line.split("#", 1)[0]
            if "settings." in code:
                continue
            for words, number in values.items():
                if any(w in code.lower() for w in words) and number.search(code):
                    offenders.append(f"{_rel(path)}:{i} {line.strip()}")
    assert not offenders, "defaults written outside settings.py:\n" + "\n".join(sorted(set(offenders)))


def test_tier_time_columns_are_built_in_columns_only() -> None:
    pattern = re.compile(r"""f["']travel_time_\{""")
    offenders = [f"{_rel(p)}:{i}" for p in SOURCES if p.name != "columns.py"
                 for i, line in enumerate(p.read_text("utf-8").splitlines(), 1) if pattern.search(line)]
    assert not offenders, "travel_time_{tier}_min built outside columns.py:\n" + "\n".join(offenders)


def test_study_file_names_are_spelled_in_outputs_only() -> None:
    names = set(outputs.STUDY_FILES)
    offenders = []
    for path in SOURCES:
        if path.name == "outputs.py":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in names:
                offenders.append(f"{_rel(path)}:{node.lineno} {node.value!r}")
    assert not offenders, "study file names spelled outside outputs.py:\n" + "\n".join(offenders)


def _type_checking_blocks(tree: ast.Module) -> set[int]:
    """ids of the nodes under ``if TYPE_CHECKING:`` (imports for annotations only)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside |= {id(n) for child in node.body for n in ast.walk(child)}
    return inside


def _imported_modules(tree: ast.Module) -> set[str]:
    """Package modules a module imports (relative ``from .x import`` or absolute), leaving out
    the imports made for type annotations only."""
    out = set()
    typing_only = _type_checking_blocks(tree)
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                out.add(node.module.split(".")[0])
            elif node.level == 1:
                out |= {a.name for a in node.names}
            elif node.module and node.module.startswith("territorial_gis."):
                out.add(node.module.split(".")[1])
        elif isinstance(node, ast.Import):
            out |= {a.name.split(".")[1] for a in node.names if a.name.startswith("territorial_gis.")}
    return out


def test_no_stage_imports_another_stage() -> None:
    offenders = []
    for path in PKG.glob("*.py"):
        stage = path.stem
        if stage not in STAGES:
            continue
        others = (_imported_modules(_tree(path)) & STAGES) - {stage} - STAGE_IMPORTS_ALLOWED.get(stage, set())
        offenders += [f"{stage} imports {o}" for o in sorted(others)]
    assert not offenders, "\n".join(offenders)


def _code_lines(node: ast.FunctionDef) -> int:
    """Lines of a function without its docstring (the numpydoc sections are long on purpose)."""
    n = node.end_lineno - node.lineno + 1  # type: ignore[operator]
    first = node.body[0]
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
        n -= first.end_lineno - first.lineno + 1  # type: ignore[operator]
    return n


def _functions(public: bool = True) -> list[tuple[str, ast.FunctionDef, int]]:
    out = []
    for path in [*PKG.glob("*.py"), *CLI.glob("*.py")]:
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.FunctionDef) and (not public or not node.name.startswith("_")):
                out.append((f"{_rel(path)}:{node.name}", node, _code_lines(node)))
    return out


def test_public_functions_take_few_positional_parameters() -> None:
    offenders = []
    for where, node, _n in _functions():
        pos = [a.arg for a in (*node.args.posonlyargs, *node.args.args) if a.arg not in ("self", "cls")]
        # click commands receive their options by keyword
        is_command = any("click" in ast.unparse(d) or "option" in ast.unparse(d) or "command" in ast.unparse(d)
                         or "input_path" in ast.unparse(d) for d in node.decorator_list)
        if len(pos) > MAX_POSITIONAL and not is_command:
            offenders.append(f"{where}: {len(pos)} positional parameters")
    assert not offenders, "\n".join(offenders)


def test_functions_fit_on_a_screen() -> None:
    long = {where: n for where, _node, n in _functions(public=False) if n > MAX_LINES}
    unexplained = sorted(set(long) - set(LONG_FUNCTIONS))
    assert not unexplained, "\n".join(f"{w}: {long[w]} lines" for w in unexplained)
    stale = sorted(set(LONG_FUNCTIONS) - set(long))
    assert not stale, f"no longer long, drop from LONG_FUNCTIONS: {stale}"


def test_plain_np_unique_is_not_used() -> None:
    """numpy >= 2.3 answers a plain ``np.unique`` with a hash table that is 5-20x slower than a
    sort on the large arrays of a country-sized study: ``_arrays.unique_values`` is the one
    place that takes distinct values (``np.unique`` with ``return_inverse``/``counts``/``index``
    or ``axis`` takes the sorting path and stays)."""
    found = []
    for path in sorted(PKG.rglob("*.py")):
        for node in ast.walk(_tree(path)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "unique"
                    and isinstance(node.func.value, ast.Name) and node.func.value.id == "np"
                    and not any(k.arg in ("return_inverse", "return_counts", "return_index", "axis")
                                for k in node.keywords)):
                found.append(f"{_rel(path)}:{node.lineno}")
    assert not found, f"plain np.unique (use _arrays.unique_values): {found}"
