"""Mutation testing of the core modules with mutmut (``make mutate``; not part of ``make test``).

Each target (a stage and its private helpers) runs in its own scratch copy of the project under
``build/mutate/<target>/`` with a ``[tool.mutmut]`` section written for it: only that target's
files are mutated, and only its own fast tests are run against the mutants (mutmut then runs,
per mutant, just the tests that execute the mutated function). Results are summarised per
target in ``build/mutate/summary.json`` and printed as a table; the survivors of a target are
listed in ``build/mutate/<target>/survivors.txt`` (``mutmut show NAME`` in that folder shows
the diff of one).

The compiled kernels (``territorial_gis/*.pyx``) are not mutated: mutmut mutates Python
source only. Their behaviour is checked against networkx/scipy in tests/test_kernels.py and
tests/test_engine.py.

Usage::

    python scripts/mutate.py                 # every target, in the order below, every mutant
    python scripts/mutate.py speeds hubs     # some targets
    python scripts/mutate.py --sample 0.25   # a seeded random quarter of each target's mutants
    python scripts/mutate.py --list          # the targets, their files and tests
    python scripts/mutate.py --rerun places  # after a test change: run the last survivors again

A full run has about two mutants per line of code (some 10,000 over all targets): hours on
two cores. ``--sample`` (``make mutate SAMPLE=0.25``) draws a seeded random subset of each
target's mutants (the same subset every time for the same code) and reports the score with
its 95 % confidence interval.

The score printed is killed / (killed + survived + no tests + timeout + suspicious), i.e. a
mutant that no test reaches counts against the score.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

import tomli_w

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "build" / "mutate"

#: target -> files mutated and the tests run against them (small, fast tests first)
TARGETS: dict[str, dict[str, Any]] = {  # deselect: -k words of slow tests left out; select: a -k expression
    "speeds": {
        "files": ["territorial_gis/speeds.py"],
        "functions": ["*"],
        "tests": ["tests/test_speeds.py"],
    },
    "places": {
        "files": ["territorial_gis/_numbers.py", "territorial_gis/_tables.py", "territorial_gis/places.py"],
        # places.py: reading a places file (not the catalogues, tier rules and tier derivation)
        "functions": ["territorial_gis._numbers.*", "territorial_gis._tables.*",
                      *(f"territorial_gis.places.x_{f}__mutmut_*" for f in (
                          "load_places", "_number_format", "_check_applicable", "_read_parquet", "_read_vector",
                          "_find_column", "_require_column", "_list_columns", "_is_text", "_table_to_points",
                          "_parse_crs", "_check_lonlat_range", "_check_swapped_rows", "_check_finite",
                          "_vector_to_points", "_standard_columns", "_population", "_standardize", "_fmt_id",
                          "_clean_ids")),
                      "territorial_gis.places.xǁ_Numbersǁ*"],
        "tests": ["tests/test_numbers.py", "tests/test_places_reading.py", "tests/test_places.py"],
        # the catalogue tests (INEGI, CONAPO, GeoNames) take seconds each and do not read places files
        "deselect": ["conapo", "geonames", "inegi", "catalogue"],
    },
    "routing": {
        "functions": ["*"],
        "files": ["territorial_gis/_routing.py", "territorial_gis/_engine.py", "territorial_gis/access.py"],
        # the Porto Alegre and hypothesis comparisons with networkx take tens of seconds per mutant
        "tests": ["tests/test_access_units.py", "tests/test_thresholds.py", "tests/test_engine.py",
                  "tests/test_hubs_units.py", "tests/test_corridors_units.py"],
        "deselect": ["porto_alegre", "synthetic_times_equal", "traced_path"],
    },
    "classify": {
        "functions": ["*"],
        "files": ["territorial_gis/classify.py", "territorial_gis/_typology.py"],
        "tests": ["tests/test_thresholds.py", "tests/test_classify.py", "tests/test_typology.py",
                  "tests/test_numbers.py"],
        # the region-wide runs take 5-10 s each per mutant
        "deselect": ["embedded_region", "sensitivity_monotonic_for_isolation", "sensitivity_shares_monotonic",
                     "engine_equals_the_documented_rules"],
    },
    "hubs": {
        "functions": ["*"],
        "files": ["territorial_gis/hubs.py", "territorial_gis/_zones.py"],
        # tests/test_hubs.py (real network, brute force over hub sets) takes minutes per mutant
        "tests": ["tests/test_hubs_units.py"],
    },
    "corridors": {
        "functions": ["*"],
        "files": ["territorial_gis/corridors.py"],
        # the Porto Alegre tests of test_corridors.py take a minute per mutant: only its SYNTHETIC ones
        "tests": ["tests/test_corridors_units.py", "tests/test_corridors.py"],
        "select": "units or synthetic",
    },
}

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
          36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", 37: "type check"}


def _scratch(name: str, spec: dict[str, list[str]]) -> Path:
    """A copy of the project for one target with its own [tool.mutmut] section."""
    work = WORK / name
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.c", "*.html")
    shutil.copytree(ROOT / "territorial_gis", work / "territorial_gis", ignore=ignore)
    shutil.copytree(ROOT / "tests", work / "tests", ignore=ignore)
    conf = tomllib.loads((ROOT / "pyproject.toml").read_text())
    tests = [t for t in spec["tests"] if (ROOT / t).exists()]
    if spec.get("deselect"):
        tests += ["-k", " and ".join(f"not {k}" for k in spec["deselect"])]
    elif spec.get("select"):
        tests += ["-k", str(spec["select"])]
    conf.setdefault("tool", {})["mutmut"] = {
        "source_paths": ["territorial_gis"],
        "only_mutate": spec["files"],
        "pytest_add_cli_args_test_selection": tests,
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-m", "not network and not browser and not slow"],
        # CPU seconds; the machine may be shared, so be generous before calling a mutant a timeout
        "timeout_multiplier": 20.0,
        "timeout_constant": 5.0,
        "use_git_change_detection": False,
    }
    (work / "pyproject.toml").write_text(tomli_w.dumps(conf))
    return work


def _mutmut(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "mutmut", *args]
    return subprocess.run(cmd, cwd=work, text=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})


def _results(work: Path, files: list[str]) -> dict[str, str]:
    """Mutant name -> status, read from mutmut's .meta files."""
    out: dict[str, str] = {}
    for f in files:
        meta = work / "mutants" / (f + ".meta")
        if not meta.exists():
            continue
        data = json.loads(meta.read_text())
        for key, code in data.get("exit_code_by_key", {}).items():
            out[key] = "not checked" if code is None else STATUS.get(code, "suspicious")
    return out


_SHOW = """
import json, sys
from mutmut.mutation.diff_apply import get_diff_for_mutant
for key, status in json.loads(sys.argv[1]).items():
    try:
        diff = get_diff_for_mutant(key)
    except Exception as exc:  # noqa: BLE001 - a diff we cannot show is reported, not fatal
        diff = f"(no diff: {exc})"
    print(f"## {key} ({status})\\n{diff.strip()}\\n")
"""


def _diffs(work: Path, survivors: dict[str, str]) -> str:
    """The diff of every survivor (one process for all, rather than one ``mutmut show`` each)."""
    if not survivors:
        return ""
    res = subprocess.run([sys.executable, "-c", _SHOW, json.dumps(survivors)], cwd=work, text=True,
                         capture_output=True)
    return res.stdout + res.stderr


def _chosen(statuses: dict[str, str], patterns: list[str], sample: float, seed: int) -> list[str]:
    """The target's mutants (names matching ``patterns``), a seeded random ``sample`` of them."""
    names = sorted(k for k in statuses if any(fnmatch.fnmatchcase(k, p) for p in patterns))
    if sample >= 1.0:
        return names
    rng = random.Random(seed)
    return sorted(rng.sample(names, max(1, round(sample * len(names))))) if names else []


def run_target(name: str, max_children: int, sample: float = 1.0, seed: int = 23) -> dict[str, object]:
    spec = TARGETS[name]
    work = _scratch(name, spec)
    print(f"== {name}: mutating {', '.join(spec['files'])}", flush=True)
    # 1. generate the mutants and collect which tests reach which function (mutmut stops at
    #    the filter, which matches nothing), 2. run the chosen mutants
    first = _mutmut(work, "run", "--max-children", str(max_children), "territorial_gis.__none__")
    chosen = _chosen(_results(work, spec["files"]), spec["functions"], sample, seed)
    if not chosen:
        print(first.stdout[-3000:], first.stderr[-3000:], sep="\n")
        raise SystemExit(f"{name}: no mutant generated")
    print(f"   {len(chosen)} mutants to run", flush=True)
    res = _mutmut(work, "run", "--max-children", str(max_children), *chosen)
    (work / "mutmut.log").write_text(first.stdout + first.stderr + res.stdout + res.stderr)
    return _summarise(name, work, chosen, sample, seed, res.returncode)


def _summarise(name: str, work: Path, chosen: list[str], sample: float, seed: int, exit_code: int) -> dict[str, Any]:
    spec = TARGETS[name]
    res_code = exit_code
    statuses = {k: v for k, v in _results(work, spec["files"]).items() if k in set(chosen)}
    counts = Counter(statuses.values())
    considered = sum(v for k, v in counts.items() if k not in ("skipped", "type check", "not checked"))
    killed = counts.get("killed", 0)
    survivors = sorted(k for k, v in statuses.items() if v in ("survived", "no tests", "suspicious", "timeout"))
    (work / "survivors.txt").write_text(_diffs(work, {k: statuses[k] for k in survivors}))
    score = 100.0 * killed / considered if considered else float("nan")
    # Wilson 95 % interval of the score when only a sample of the mutants was run
    half = 0.0
    if sample < 1.0 and considered:
        p, n, z = killed / considered, considered, 1.96
        centre = (p + z * z / (2 * n)) / (1 + z * z / n)
        half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
        ci = (round(100 * (centre - half), 1), round(100 * (centre + half), 1))
    else:
        ci = (round(score, 1), round(score, 1))
    summary = {"target": name, "files": spec["files"], "tests": spec["tests"], "counts": dict(counts),
               "score_pct": round(score, 1), "ci95_pct": ci, "sample": sample, "seed": seed,
               "survivors": survivors, "mutants": chosen, "mutmut_exit": res_code}
    if res_code != 0 or not statuses:
        print(f"   mutmut exit code {res_code}; see {work / 'mutmut.log'}")
    print(f"   {killed}/{considered} killed ({score:.1f} %, 95 % CI {ci[0]}-{ci[1]}); {dict(counts)}", flush=True)
    return summary


def _still_defined(key: str, spec: dict[str, Any]) -> bool:
    """Whether the function of mutant ``key`` (``pkg.mod.x_func__mutmut_3``,
    ``pkg.mod.x\u01c1Class\u01c1method__mutmut_3``) still exists in the current source."""
    module, _, rest = key.partition(".x")
    name = rest.split("__mutmut_")[0]
    func = name.split("\u01c1")[-1] if "\u01c1" in name else name[1:]
    path = ROOT / (module.replace(".", "/") + ".py")
    return path.exists() and re.search(rf"def {re.escape(func)}\(", path.read_text()) is not None


def rerun_target(name: str, previous: dict[str, Any], max_children: int,
                 allow_changed: bool = False) -> dict[str, Any]:
    """Run the survivors of the last run of ``name`` again against the current tests (the
    mutated files must not have changed since that run; with ``allow_changed``, mutants of
    functions that no longer exist are dropped and the others run on the code of that run)."""
    spec = TARGETS[name]
    work = WORK / name
    changed = [f for f in spec["files"] if (ROOT / f).read_bytes() != (work / f).read_bytes()]
    if changed and not allow_changed:
        raise SystemExit(f"{name}: {', '.join(changed)} changed since the last run; run the target in full "
                         "(or --allow-changed)")
    shutil.rmtree(work / "tests")
    shutil.copytree(ROOT / "tests", work / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    statuses = _results(work, spec["files"])
    chosen = previous.get("mutants") or sorted(k for k, v in statuses.items() if v != "not checked")
    if changed:
        gone = [k for k in chosen if not _still_defined(k, spec)]
        print(f"   {', '.join(changed)} changed since the run: {len(gone)} mutants of functions that no longer "
              "exist dropped", flush=True)
        chosen = [k for k in chosen if k not in set(gone)]
    again = [k for k in chosen if statuses.get(k) in ("survived", "no tests", "suspicious", "timeout")]
    print(f"== {name}: {len(again)} survivors run again", flush=True)
    res = _mutmut(work, "run", "--max-children", str(max_children), *again) if again else None
    if res is not None:
        with (work / "mutmut.log").open("a") as log:
            log.write(res.stdout + res.stderr)
    return _summarise(name, work, chosen, float(previous.get("sample", 1.0)), int(previous.get("seed", 23)),
                      res.returncode if res is not None else 0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("targets", nargs="*", help=f"targets to run (default all): {', '.join(TARGETS)}")
    ap.add_argument("--list", action="store_true", help="list the targets and exit")
    ap.add_argument("--max-children", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--min-score", type=float, default=80.0, help="exit 1 when a target scores below this")
    ap.add_argument("--sample", type=float, default=1.0, help="share of each target's mutants to run (0-1]")
    ap.add_argument("--seed", type=int, default=23, help="seed of the sample")
    ap.add_argument("--rerun", action="store_true", help="run the survivors of the last run again")
    ap.add_argument("--allow-changed", action="store_true",
                    help="with --rerun: accept mutated files changed since the run (see rerun_target)")
    args = ap.parse_args(argv)
    if args.list:
        for name, spec in TARGETS.items():
            print(f"{name}: {' '.join(spec['files'])}\n    tests: {' '.join(spec['tests'])}")
        return 0
    unknown = [t for t in args.targets if t not in TARGETS]
    if unknown:
        ap.error(f"unknown target(s) {', '.join(unknown)}; choose from {', '.join(TARGETS)}")
    WORK.mkdir(parents=True, exist_ok=True)
    summary_file = WORK / "summary.json"
    summary = json.loads(summary_file.read_text()) if summary_file.exists() else {}
    if not 0 < args.sample <= 1:
        ap.error("--sample must be in (0, 1]")
    for name in args.targets or list(TARGETS):
        if args.rerun:
            if name not in summary:
                ap.error(f"--rerun: no previous run of {name}")
            summary[name] = rerun_target(name, summary[name], args.max_children, args.allow_changed)
        else:
            summary[name] = run_target(name, args.max_children, args.sample, args.seed)
        # other targets may have finished meanwhile (runs in parallel): merge, do not overwrite
        latest = json.loads(summary_file.read_text()) if summary_file.exists() else {}
        summary = {**latest, name: summary[name]}
        summary_file.write_text(json.dumps(summary, indent=2))
    print(f"\n{'target':<10} {'killed':>7} {'survived':>9} {'no tests':>9} {'timeout':>8} {'score':>7}  sample")
    low = []
    for name, s in summary.items():
        c = s["counts"]
        print(f"{name:<10} {c.get('killed', 0):>7} {c.get('survived', 0):>9} {c.get('no tests', 0):>9} "
              f"{c.get('timeout', 0):>8} {s['score_pct']:>6.1f}%  {s.get('sample', 1.0):g}")
        if not s["score_pct"] >= args.min_score:
            low.append(name)
    if low:
        print(f"below {args.min_score:g} %: {', '.join(low)}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
