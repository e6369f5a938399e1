"""Every command of the README and of the user guides runs as written, in order, on a copy of the
repository (offline: the commands use the shipped data).

Shell blocks (```sh) run with bash from the copy's top folder, with the project's environment on
the PATH; ``make run`` runs the recipe of the Makefile's ``run`` target (the environment is
already installed), other ``make`` targets are skipped (``make test`` is this very run). Python
blocks (```python) of one document run in order in one interpreter. A block whose first line is
``# with your own files`` needs files the repository does not ship and is only shown.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ["README.md", "docs/guide.md", "docs/guia.md"]
OWN_FILES = "# with your own files"
_FENCE = re.compile(r"^```(?P<lang>[A-Za-z]*)\s*\n(?P<body>.*?)^```\s*$", re.S | re.M)

pytestmark = pytest.mark.slow


def blocks(text: str) -> list[tuple[str, str]]:
    """(language, body) of the fenced code blocks of a Markdown text, in order."""
    return [(m.group("lang"), m.group("body")) for m in _FENCE.finditer(text)]


def make_run_recipe() -> str:
    """The Makefile's ``run`` recipe as shell lines, with its variables resolved."""
    text = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^(\w+)\s*\?=\s*(.*)$", text, re.M))
    recipe = re.search(r"^run:.*\n((?:\t.*\n)+)", text, re.M)
    assert recipe, "the Makefile has no run target"
    lines = [ln.strip() for ln in recipe.group(1).splitlines()]
    out = []
    for line in lines:
        line = line.replace("$(BIN)/", "")
        for k, v in variables.items():
            line = line.replace(f"$({k})", v.strip())
        out.append(line)
    return "\n".join(out)


@pytest.fixture(scope="module")
def copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The repository's tracked files (and the docs being tested), without the environment."""
    dst = tmp_path_factory.mktemp("readme") / "repo"
    files = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=False)
    names = [n for n in files.stdout.decode().split("\0") if n] if files.returncode == 0 else []
    if not names:  # not a git checkout: copy the folders the docs use
        shutil.copytree(ROOT, dst, ignore=shutil.ignore_patterns(".venv", "outputs", ".git", "build"))
        (dst / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
        return dst
    for name in {*names, *DOCS}:
        src = ROOT / name
        if src.is_file():
            (dst / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst / name)
    (dst / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)  # the environment make made
    return dst


def _env(tmp: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env["TGIS_CACHE_DIR"] = str(tmp / "cache")
    env["PYTHONWARNINGS"] = "error::DeprecationWarning:territorial_gis"
    return env


# A `tgis` command given --overwrite that already ran in this copy with the same arguments and the
# same contents of the files it reads is not run again (the toolkit is deterministic: it would
# write the same outputs). This is what keeps the test affordable: `make run` (run first, then
# again by the README) and the Guaviare study (in `make run`, the README and both guides) run
# once. A command without --overwrite always runs, so a guide that writes over another's output
# without saying so still fails, as it would for its reader.
_PREAMBLE = """set -euo pipefail
tgis() {{
  local key=""
  case " $* " in
    *" --overwrite "*)
      local a out=""
      key=$( {{ printf '%s\\n' "$@"
               for a in "$@"; do
                 if [ -n "$out" ]; then out=""; continue; fi
                 case "$a" in -o|--output) out=1; continue ;; esac
                 if [ -f "$a" ]; then sha1sum "$a"; fi
               done; }} | sha1sum | cut -c1-40)
      if [ -e ".readme-test/$key" ]; then echo "(already run in this copy: tgis $*)"; return 0; fi ;;
  esac
  command tgis "$@" || return $?
  if [ -n "$key" ]; then mkdir -p .readme-test && touch ".readme-test/$key"; fi
}}
make() {{
  case "$1" in
    run) {recipe} ;;
    *) echo "(make $1 skipped by the README test)" ;;
  esac
}}
"""


@pytest.mark.parametrize("doc", DOCS)
def test_document_commands_run_as_written(doc: str, copy: Path) -> None:
    text = (ROOT / doc).read_text("utf-8")
    found = blocks(text)
    assert found, f"{doc} has no code block"
    python: list[str] = []
    ran = 0
    preamble = _PREAMBLE.format(recipe=make_run_recipe().replace("\n", " && "))
    if not (copy / "outputs").exists():  # the guides start where `make run` left the user
        r = subprocess.run(["bash", "-c", preamble + "make run"], cwd=copy, env=_env(copy.parent),
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, r.stderr[-3000:]
    for lang, body in found:
        if body.lstrip().startswith(OWN_FILES):
            continue
        if lang in ("sh", "bash", "shell"):
            r = subprocess.run(["bash", "-c", preamble + body], cwd=copy, env=_env(copy.parent),
                               capture_output=True, text=True, timeout=900)
            assert r.returncode == 0, f"{doc}: this block failed:\n{body}\n--- stdout\n{r.stdout[-3000:]}" \
                                      f"\n--- stderr\n{r.stderr[-3000:]}"
            assert "Traceback" not in r.stderr, r.stderr[-3000:]
            ran += 1
        elif lang == "python":
            python.append(body)
    if python:
        r = subprocess.run([sys.executable, "-c", "\n".join(python)], cwd=copy, env=_env(copy.parent),
                           capture_output=True, text=True, timeout=900)
        assert r.returncode == 0, f"{doc}: the Python blocks failed:\n{r.stderr[-3000:]}"
        ran += 1
    assert ran, f"{doc}: no block was run"


def _tgis_lines(text: str) -> list[str]:
    """The ``tgis`` command lines of a Markdown text: in code blocks (also those only shown, with
    continuation lines joined and comments cut) and in inline code spans."""
    lines = []
    for _lang, body in blocks(text):
        for line in body.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip()
            if line.startswith("tgis "):
                lines.append(line)
    lines += re.findall(r"`(tgis [^`]+)`", text)
    return lines


@pytest.mark.parametrize("doc", DOCS)
def test_document_options_exist(doc: str) -> None:
    """Every option a document gives a ``tgis`` command, in blocks that run and in those only
    shown, is an option of that command (one spelling: the CLI's)."""
    import shlex

    import click
    from territorial_gis.cli import main

    ctx = click.Context(main)
    found = _tgis_lines((ROOT / doc).read_text("utf-8"))
    assert found
    wrong = []
    for line in found:
        words = shlex.split(line)[1:]
        cmd: click.Command = main
        while words and words[0] in ("-v", "-vv", "-q", "--verbose", "--quiet"):
            words.pop(0)
        while isinstance(cmd, click.Group) and words and not words[0].startswith("-"):
            sub = cmd.get_command(ctx, words[0])
            if sub is None:
                wrong.append(f"{line}: no command '{words[0]}'")
                break
            cmd = sub
            words.pop(0)
        known = {o for p in cmd.params for o in (*p.opts, *p.secondary_opts)} | {"-h", "--help"}
        if cmd is main:
            known |= {"-v", "-q", "--version"}
        for w in words:
            opt = w.split("=")[0]
            if opt.startswith("-") and not re.fullmatch(r"-[\d.,]+", opt) and opt not in known:
                wrong.append(f"{line}: {opt}")
    assert not wrong, "\n".join(wrong)
