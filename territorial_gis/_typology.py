"""Typology engine: named classes with conditions over columns, evaluated in order, with reasons.

Shared machinery of the stages that sort units into classes by rules over their columns: the
MRA/FRA classification (:mod:`territorial_gis.classify`), the typologies and their presets
(:mod:`territorial_gis.typology`), and eligibility rules. A typology is a TOML table (a file or
a dict of the same shape)::

    [typology]
    name = "red"
    column = "red_type"            # the class column written per unit
    sources = ["..."]              # where the classes and thresholds come from

    [thresholds]                   # named numbers, moved by the sensitivity table
    high_grade = { value = 4, vary = false }   # vary = false: an ordinal code, never moved
    decline_pct = -5.0

    [flags]                        # named conditions, written as columns, usable by name
    is_poor = "marginalization_grade_code >= @high_grade"

    [[class]]                      # evaluated in order: the first class whose condition holds
    name = "declining"
    any = ["population_change_pct <= @decline_pct", "marginalization_percentile_change > 5"]

    [[class]]
    name = "other"
    otherwise = true               # the last class takes every unit no earlier class took

A condition is a string ``<column> <op> <value>`` with ``op`` one of :data:`OPERATORS`
(``x in ['a', 'b']``, ``x not in [...]``, ``x is missing``, ``x is known``, a bare boolean
column or flag, ``not <flag>``); the value is a number, ``@threshold``, a quoted string or
another column; either side may be scaled (``travel_time_x_min / 60 > @hours``); column
names that are not identifiers go in back-quotes (`` `PL<5000` ``). Conditions combine with
``all = [...]``, ``any = [...]``, ``not = ...``; a condition may be a table ``{if = "...",
missing = true, label = "travel time", unit = " h", decimals = 1}``.

Logic is three-valued: a comparison on a missing value is *unknown* unless its ``missing``
option says what it counts as. A unit whose class cannot be decided (an earlier class is
unknown) gets the typology's ``unknown_class`` and a reason naming the missing values; it
never falls through to a later class silently.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from .columns import reasons_col
from .errors import ColumnError, ConfigError

OPERATORS = ("<", "<=", ">", ">=", "==", "!=", "in", "not in", "is missing", "is known")
_ORDER_OPS = ("<", "<=", ">", ">=")
_SHOW_TRUE = {">": ">", ">=": "≥", "<": "<", "<=": "≤", "==": "=", "!=": "≠"}
_SHOW_FALSE = {">": "≤", ">=": "<", "<": "≥", "<=": ">", "==": "≠", "!=": "="}
DEFAULT_UNKNOWN_CLASS = "undecided"

_TOKEN = re.compile(r"""\s*(?:
    (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
  | (?P<thr>@[\w.\-]+)
  | (?P<bq>`[^`]+`)
  | (?P<str>'[^']*'|"[^"]*")
  | (?P<op>[<>=!~]+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[\[\],*/])
  | (?P<bad>\S+))""", re.X)


# ---------------------------------------------------------------------------------------------
# condition trees


@dataclass(frozen=True)
class Operand:
    """One side of a comparison: a column, a number, a threshold or a string, optionally scaled."""

    kind: str  # "column", "number", "threshold", "string"
    value: Any
    scale: tuple[tuple[str, float], ...] = ()
    text: str = ""


@dataclass(frozen=True)
class Leaf:
    """A comparison of a column with a value, a threshold or another column."""

    text: str
    left: Operand
    op: str
    right: Operand | tuple[Any, ...] | None = None
    missing: bool | None = None
    label: str = ""
    unit: str = ""
    decimals: int | None = None


@dataclass(frozen=True)
class Group:
    """``all``/``any``/``not`` of children, or a constant (``kind="const"``, ``value``)."""

    kind: str
    children: tuple[Node, ...] = ()
    value: bool = False


@dataclass(frozen=True)
class FlagRef:
    """A named flag (or boolean column) used as a condition; ``negate`` for ``not <name>``."""

    name: str
    negate: bool = False
    text: str = ""


Node = Leaf | Group | FlagRef


@dataclass(frozen=True)
class Threshold:
    """A named number of a typology; ``vary=False`` keeps it out of the sensitivity table."""

    value: float
    vary: bool = True
    note: str = ""


@dataclass(frozen=True)
class ClassRule:
    """One class: its name (value of the class column), optional subtype, and its condition
    (None for the ``otherwise`` class)."""

    name: str
    when: Node | None
    subtype: str = ""
    description: str = ""


@dataclass(frozen=True)
class Typology:
    """An ordered list of classes with named thresholds and flags (see the module docstring)."""

    name: str
    column: str
    classes: tuple[ClassRule, ...]
    thresholds: dict[str, Threshold] = field(default_factory=dict)
    flags: dict[str, Node] = field(default_factory=dict)
    title: str = ""
    subtype_column: str | None = None
    reasons_column: str = ""
    unknown_class: str = DEFAULT_UNKNOWN_CLASS
    sources: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    source: str = "<dict>"

    def with_threshold(self, name: str, value: float) -> Typology:
        """A copy with threshold ``name`` set to ``value``."""
        if name not in self.thresholds:
            raise ConfigError(f"typology {self.name!r} ({self.source}) has no threshold {name!r}; "
                              f"thresholds are {', '.join(self.thresholds) or 'none'}")
        th = dict(self.thresholds)
        th[name] = replace(th[name], value=float(value))
        return replace(self, thresholds=th)

    def with_thresholds(self, values: Mapping[str, float]) -> Typology:
        out = self
        for k, v in values.items():
            out = out.with_threshold(k, v)
        return out

    def class_names(self) -> list[str]:
        """Class names in order (each once), then the unknown class."""
        return list(dict.fromkeys([c.name for c in self.classes] + [self.unknown_class]))

    def columns(self) -> dict[str, str]:
        """Columns the typology reads -> where first used (``class 'x'`` / ``flag 'y'``)."""
        out: dict[str, str] = {}
        for name, node in self.flags.items():
            _collect_columns(node, f"flag {name!r}", self.flags, out)
        for c in self.classes:
            if c.when is not None:
                _collect_columns(c.when, f"class {c.name!r}", self.flags, out)
        return out

    def fixed_thresholds(self) -> list[str]:
        """Used thresholds a sensitivity analysis does not move: ``vary = false`` (ordinal codes)
        or equal to 0 (a relative change leaves them where they are)."""
        return [t for t in self.used_thresholds() if not self.thresholds[t].vary or self.thresholds[t].value == 0.0]

    def used_thresholds(self) -> list[str]:
        """Thresholds that can change a class (used by a class condition, directly or through
        its flags), in declaration order."""
        used: set[str] = set()
        seen: set[str] = set()
        todo: list[Node] = [c.when for c in self.classes if c.when is not None]
        while todo:
            node = todo.pop()
            _collect_thresholds(node, used)
            for n in _walk(node):
                if isinstance(n, FlagRef) and n.name in self.flags and n.name not in seen:
                    seen.add(n.name)
                    todo.append(self.flags[n.name])
        return [t for t in self.thresholds if t in used]


def _walk(node: Node) -> list[Node]:
    out: list[Node] = [node]
    if isinstance(node, Group):
        for ch in node.children:
            out += _walk(ch)
    return out


def _collect_columns(node: Node, where: str, flags: Mapping[str, Node], out: dict[str, str]) -> None:
    for n in _walk(node):
        if isinstance(n, Leaf):
            for side in (n.left, n.right):
                if isinstance(side, Operand) and side.kind == "column":
                    out.setdefault(side.value, where)
        elif isinstance(n, FlagRef) and n.name not in flags:
            out.setdefault(n.name, where)


def _collect_thresholds(node: Node, out: set[str]) -> None:
    for n in _walk(node):
        if isinstance(n, Leaf):
            for side in (n.left, n.right):
                if isinstance(side, Operand) and side.kind == "threshold":
                    out.add(side.value)


# ---------------------------------------------------------------------------------------------
# parsing


def _tokens(text: str, where: str) -> list[tuple[str, str]]:
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind is None:
            continue
        tok = m.group(kind)
        if kind == "bad":
            raise ConfigError(f"{where}: cannot read {tok!r} in condition {text!r}")
        out.append((kind, tok))
    return out


def _unknown_op(tok: str, text: str, where: str) -> ConfigError:
    hint = " (use == to test equality)" if tok == "=" else ""
    return ConfigError(f"{where}: unknown operator {tok!r} in condition {text!r}{hint}; operators are "
                       f"{', '.join(OPERATORS)}")


class _Parser:
    def __init__(self, text: str, where: str) -> None:
        self.text, self.where = text, where
        self.toks = _tokens(text, where)
        self.i = 0

    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> tuple[str, str]:
        tok = self.peek()
        if tok is None:
            raise ConfigError(f"{self.where}: condition {self.text!r} ends too early")
        self.i += 1
        return tok

    def error(self, msg: str) -> ConfigError:
        return ConfigError(f"{self.where}: {msg} in condition {self.text!r}")

    def term(self) -> Operand:
        kind, tok = self.take()
        if kind == "num":
            return Operand("number", float(tok), text=tok)
        if kind == "thr":
            return Operand("threshold", tok[1:], text=tok)
        if kind == "bq":
            return Operand("column", tok[1:-1], text=tok[1:-1])
        if kind == "str":
            return Operand("string", tok[1:-1], text=tok)
        if kind == "ident":
            return Operand("column", tok, text=tok)
        raise self.error(f"expected a column, number, @threshold or 'text', got {tok!r}")

    def operand(self) -> Operand:
        start = self.i
        op = self.term()
        scale: list[tuple[str, float]] = []
        while (nxt := self.peek()) in (("punct", "*"), ("punct", "/")):
            assert nxt is not None
            self.take()
            kind, tok = self.take()
            if kind != "num":
                raise self.error(f"a column or threshold can only be scaled by a number, got {tok!r}")
            if tok.strip("+-") in ("0", "0.0") and nxt[1] == "/":
                raise self.error("division by zero")
            scale.append((nxt[1], float(tok)))
        text = " ".join(t for _k, t in self.toks[start:self.i])
        return replace(op, scale=tuple(scale), text=text) if scale else op

    def values(self) -> tuple[Any, ...]:
        if self.peek() != ("punct", "["):
            raise self.error("expected a list [a, b, ...] after 'in'")
        self.take()
        vals: list[Any] = []
        if self.peek() == ("punct", "]"):
            self.take()
            return ()
        while True:
            kind, tok = self.take()
            if kind == "num":
                vals.append(float(tok))
            elif kind in ("str", "bq"):
                vals.append(tok[1:-1])
            elif kind == "ident":
                vals.append(tok)
            else:
                raise self.error(f"expected a value in the list, got {tok!r}")
            _kind, tok = self.take()
            if tok == "]":
                return tuple(vals)
            if tok != ",":
                raise self.error(f"expected ',' or ']' in the list, got {tok!r}")

    def parse(self) -> Node:
        toks = self.toks
        if not toks:
            raise ConfigError(f"{self.where}: empty condition")
        if len(toks) == 1 and toks[0][0] in ("ident", "bq"):
            return FlagRef(toks[0][1].strip("`"), text=self.text)
        if len(toks) == 2 and toks[0] == ("ident", "not") and toks[1][0] in ("ident", "bq"):
            return FlagRef(toks[1][1].strip("`"), negate=True, text=self.text)
        left = self.operand()
        if left.kind != "column":
            raise self.error(f"the left side must be a column, got {left.text!r}")
        kind, tok = self.take()
        right: Operand | tuple[Any, ...] | None = None
        if kind == "op":
            if tok not in _SHOW_TRUE:
                raise _unknown_op(tok, self.text, self.where)
            op, right = tok, self.operand()
        elif (kind, tok) == ("ident", "in"):
            op, right = "in", self.values()
        elif (kind, tok) == ("ident", "not") and self.peek() == ("ident", "in"):
            self.take()
            op, right = "not in", self.values()
        elif (kind, tok) == ("ident", "is") and self.peek() in (("ident", "missing"), ("ident", "known")):
            op = "is " + self.take()[1]
        else:
            raise _unknown_op(tok, self.text, self.where)
        if self.peek() is not None:
            raise self.error(f"unexpected {self.peek()[1]!r} after the comparison")  # type: ignore[index]
        return Leaf(self.text, left, op, right)


def parse_condition(text: str, where: str = "condition") -> Node:
    """Parse one condition string (see the module docstring); ConfigError naming ``where``."""
    if not isinstance(text, str):
        raise ConfigError(f"{where}: a condition must be text, got {text!r}")
    return _Parser(text, where).parse()


_LEAF_KEYS = {"if", "missing", "label", "unit", "decimals"}


def condition_from_spec(spec: Any, where: str) -> Node:
    """A condition tree from its TOML form: a string, a boolean, ``{all|any = [...]}``,
    ``{not = spec}`` or ``{if = "...", missing = ..., label = ..., unit = ..., decimals = ...}``."""
    if isinstance(spec, bool):
        return Group("const", value=spec)
    if isinstance(spec, str):
        return parse_condition(spec, where)
    if isinstance(spec, list):
        raise ConfigError(f"{where}: a list of conditions must be given as all = [...] or any = [...]")
    if not isinstance(spec, Mapping):
        raise ConfigError(f"{where}: a condition must be text, true/false or a table, got {spec!r}")
    keys = set(spec)
    for combo in ("all", "any"):
        if combo in keys:
            if keys != {combo}:
                raise ConfigError(f"{where}: '{combo}' cannot be combined with {sorted(keys - {combo})}")
            items = spec[combo]
            if not isinstance(items, list) or not items:
                raise ConfigError(f"{where}: '{combo}' must be a non-empty list of conditions")
            return Group(combo, tuple(condition_from_spec(s, f"{where}, {combo}[{i}]")
                                      for i, s in enumerate(items)))
    if "not" in keys:
        if keys != {"not"}:
            raise ConfigError(f"{where}: 'not' cannot be combined with {sorted(keys - {'not'})}")
        return Group("not", (condition_from_spec(spec["not"], f"{where}, not"),))
    unknown = keys - _LEAF_KEYS
    if unknown or "if" not in keys:
        raise ConfigError(f"{where}: unknown key(s) {sorted(unknown) or []} in condition table; "
                          f"use all/any/not or if (with missing, label, unit, decimals)")
    node = parse_condition(spec["if"], where)
    if not isinstance(node, Leaf):
        raise ConfigError(f"{where}: options need a comparison, got {spec['if']!r}")
    missing = spec.get("missing")
    if missing is not None and not isinstance(missing, bool):
        raise ConfigError(f"{where}: 'missing' must be true or false, got {missing!r}")
    dec = spec.get("decimals")
    if dec is not None and (isinstance(dec, bool) or not isinstance(dec, int) or dec < 0):
        raise ConfigError(f"{where}: 'decimals' must be an integer >= 0, got {dec!r}")
    return replace(node, missing=missing, label=str(spec.get("label", "")),
                   unit=str(spec.get("unit", "")), decimals=dec)


# ---------------------------------------------------------------------------------------------
# reading a typology table

_SECTIONS = {"typology", "thresholds", "flags", "class"}
_HEAD_KEYS = {"name", "title", "column", "subtype_column", "reasons_column", "unknown_class",
              "sources", "notes", "applies_to"}
_CLASS_KEYS = {"name", "subtype", "description", "when", "all", "any", "otherwise"}


def _threshold(name: str, spec: Any, where: str) -> Threshold:
    if isinstance(spec, Mapping):
        unknown = set(spec) - {"value", "vary", "note", "unit"}
        if unknown or "value" not in spec:
            raise ConfigError(f"{where}: threshold {name!r} must be a number or "
                              f"{{value = ..., vary = ..., note = ...}}; unknown keys {sorted(unknown)}")
        vary = spec.get("vary", True)
        if not isinstance(vary, bool):
            raise ConfigError(f"{where}: threshold {name!r}: 'vary' must be true or false")
        return Threshold(_number(spec["value"], name, where), vary, str(spec.get("note", "")))
    return Threshold(_number(spec, name, where))


def _number(value: Any, name: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: threshold {name!r} must be a finite number, got {value!r}")
    return float(value)


def _class_rule(spec: Any, i: int, where: str) -> ClassRule:
    if not isinstance(spec, Mapping) or not isinstance(spec.get("name"), str) or not spec["name"]:
        raise ConfigError(f"{where}: class #{i + 1} needs a name")
    name = spec["name"]
    here = f"{where}: class {name!r}"
    unknown = set(spec) - _CLASS_KEYS
    if unknown:
        raise ConfigError(f"{here}: unknown key(s) {', '.join(sorted(unknown))}; known: "
                          f"{', '.join(sorted(_CLASS_KEYS))}")
    conds = [k for k in ("when", "all", "any") if k in spec]
    if spec.get("otherwise", False) is True:
        if conds:
            raise ConfigError(f"{here}: an 'otherwise' class takes no condition")
        when: Node | None = None
    elif len(conds) != 1:
        raise ConfigError(f"{here}: give exactly one of when/all/any (or otherwise = true)")
    else:
        k = conds[0]
        when = condition_from_spec(spec[k] if k == "when" else {k: spec[k]}, here)
    return ClassRule(name, when, str(spec.get("subtype", "")), str(spec.get("description", "")))


def _text_list(value: Any, key: str, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise ConfigError(f"{where}: '{key}' must be text or a list of text")


def typology_from_dict(data: Mapping[str, Any], source: str = "<dict>") -> Typology:
    """Validate a parsed typology table; unknown sections, keys, operators and thresholds raise
    ConfigError naming the key and ``source``."""
    unknown = set(data) - _SECTIONS
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {', '.join(sorted(unknown))}; known: "
                          "[typology], [thresholds], [flags], [[class]]")
    head = data.get("typology", {})
    if not isinstance(head, Mapping) or set(head) - _HEAD_KEYS:
        raise ConfigError(f"{source}: unknown key(s) in [typology]: "
                          f"{', '.join(sorted(set(head) - _HEAD_KEYS)) if isinstance(head, Mapping) else head}"
                          f"; known: {', '.join(sorted(_HEAD_KEYS))}")
    name = str(head.get("name", "typology"))
    column = str(head.get("column", name))
    thresholds = {str(k): _threshold(str(k), v, source) for k, v in data.get("thresholds", {}).items()}
    flags: dict[str, Node] = {}
    for k, v in data.get("flags", {}).items():
        flags[str(k)] = condition_from_spec(v, f"{source}: flag {k!r}")
    classes = data.get("class")
    if not isinstance(classes, list) or not classes:
        raise ConfigError(f"{source}: a typology needs [[class]] tables (at least one)")
    rules = tuple(_class_rule(c, i, source) for i, c in enumerate(classes))
    for c in rules[:-1]:
        if c.when is None:
            raise ConfigError(f"{source}: class {c.name!r} is 'otherwise' but not the last class")
    if rules[-1].when is not None:
        raise ConfigError(f"{source}: the last class must be 'otherwise = true' (it takes every unit "
                          "no earlier class took)")
    typ = Typology(name=name, column=column, classes=rules, thresholds=thresholds, flags=flags,
                   title=str(head.get("title", "")), subtype_column=head.get("subtype_column"),
                   reasons_column=str(head.get("reasons_column", reasons_col(column))),
                   unknown_class=str(head.get("unknown_class", DEFAULT_UNKNOWN_CLASS)),
                   sources=_text_list(head.get("sources", []), "sources", source),
                   notes=_text_list(head.get("notes", []), "notes", source), source=source)
    _check_references(typ)
    return typ


def _check_references(typ: Typology) -> None:
    used: set[str] = set()
    for node in [*typ.flags.values(), *(c.when for c in typ.classes if c.when is not None)]:
        _collect_thresholds(node, used)
    missing = sorted(used - set(typ.thresholds))
    if missing:
        raise ConfigError(f"{typ.source}: unknown threshold(s) {', '.join('@' + m for m in missing)}; "
                          f"[thresholds] defines {', '.join(typ.thresholds) or 'none'}")
    seen: list[str] = []
    for name, node in typ.flags.items():  # a flag may use only flags defined before it
        for n in _walk(node):
            if isinstance(n, FlagRef) and n.name in typ.flags and n.name not in seen:
                raise ConfigError(f"{typ.source}: flag {name!r} uses flag {n.name!r} defined after it")
        seen.append(name)


# ---------------------------------------------------------------------------------------------
# evaluation (three-valued: each node gives (true, known) boolean arrays)


@dataclass
class Evaluation:
    """Result of :func:`evaluate`: class and subtype per unit, flags, reasons."""

    classes: np.ndarray
    subtypes: np.ndarray
    decided: np.ndarray
    flags: dict[str, tuple[np.ndarray, np.ndarray]]
    reasons: list[str] | None = None

    def flag_column(self, name: str) -> pd.Series:
        """A flag as a column: bool, or nullable boolean when some units are unknown."""
        val, known = self.flags[name]
        if known.all():
            return pd.Series(val, dtype=bool)
        values = [bool(v) if k else None for v, k in zip(val, known, strict=True)]
        return pd.Series(pd.array(values, dtype="boolean"))


class _Context:
    def __init__(self, df: pd.DataFrame, typ: Typology) -> None:
        self.df, self.typ = df, typ
        self.n = len(df)
        self.cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.values: dict[int, tuple[Any, ...]] = {}

    def numeric(self, col: str) -> np.ndarray:
        return numeric_column(self.df, col, self.typ)

    def operand(self, op: Operand, numeric: bool) -> tuple[np.ndarray, np.ndarray]:
        """(values, known) of an operand; numbers as float64, text as object."""
        if op.kind == "number":
            v: np.ndarray = np.full(self.n, op.value, dtype=float)
        elif op.kind == "threshold":
            v = np.full(self.n, self.typ.thresholds[op.value].value, dtype=float)
        elif op.kind == "string":
            if numeric:
                raise ConfigError(f"{self.typ.source}: {op.text} is text and cannot be compared "
                                  "with <, <=, > or >=")
            return np.full(self.n, op.value, dtype=object), np.ones(self.n, bool)
        elif numeric:
            v = self.numeric(op.value)
        else:
            s = self.df[op.value]
            txt = s.astype(object).where(s.notna(), None).to_numpy()
            known = np.array([t is not None and str(t).strip() != "" for t in txt], dtype=bool)
            return txt, known
        for how, k in op.scale:
            v = v / k if how == "/" else v * k
        return v, np.isfinite(v)


def numeric_column(df: pd.DataFrame, col: str, typ: Typology | None = None) -> np.ndarray:
    """A column as float64; empty cells and NA are NaN; any other non-number is a ColumnError
    naming the column, the value and the row."""
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("float64").to_numpy()
    out = pd.to_numeric(s, errors="coerce")
    bad = out.isna() & s.notna()
    if bad.any():
        txt = s[bad].astype(str).str.strip()
        bad_txt = txt[txt != ""]
        if len(bad_txt):
            where = f" (typology {typ.name!r}, {typ.source})" if typ is not None else ""
            raise ColumnError(f"column {col!r} is not numeric: value {bad_txt.iloc[0]!r} in row "
                              f"{bad_txt.index[0]!r}{where}; {len(bad_txt)} such value(s)")
    arr: np.ndarray = out.astype("float64").to_numpy()
    return arr


def _leaf_state(ctx: _Context, leaf: Leaf) -> tuple[np.ndarray, np.ndarray]:
    if leaf.op in ("is missing", "is known"):
        numeric = pd.api.types.is_numeric_dtype(ctx.df[leaf.left.value])
        _v, known = ctx.operand(leaf.left, numeric)
        val = ~known if leaf.op == "is missing" else known
        ctx.values[id(leaf)] = (_v, None)
        return val, np.ones(ctx.n, bool)
    if leaf.op in ("in", "not in"):
        vals = leaf.right
        assert isinstance(vals, tuple)
        numeric = all(isinstance(v, float) for v in vals)
        lv, known = ctx.operand(leaf.left, numeric)
        hit = np.isin(lv, np.asarray(vals, dtype=float)) if numeric else \
            np.array([str(x).strip() in vals for x in lv], dtype=bool)
        val = hit if leaf.op == "in" else ~hit
        ctx.values[id(leaf)] = (lv, None)
    else:
        assert isinstance(leaf.right, Operand)
        numeric = leaf.op in _ORDER_OPS or leaf.right.kind in ("number", "threshold") or (
            leaf.right.kind == "column" and pd.api.types.is_numeric_dtype(ctx.df[leaf.right.value])
            and pd.api.types.is_numeric_dtype(ctx.df[leaf.left.value]))
        lv, lk = ctx.operand(leaf.left, numeric)
        rv, rk = ctx.operand(leaf.right, numeric)
        known = lk & rk
        if not numeric:
            lv = np.array([str(x).strip() if x is not None else "" for x in lv], dtype=object)
            rv = np.array([str(x).strip() if x is not None else "" for x in rv], dtype=object)
        with np.errstate(invalid="ignore"):
            val = _compare(lv, leaf.op, rv)
        ctx.values[id(leaf)] = (lv, rv)
    if leaf.missing is not None:
        return np.where(known, val, leaf.missing).astype(bool), np.ones(ctx.n, bool)
    return val & known, known


def _compare(a: np.ndarray, op: str, b: np.ndarray) -> np.ndarray:
    if op == "<":
        return np.asarray(a < b, dtype=bool)
    if op == "<=":
        return np.asarray(a <= b, dtype=bool)
    if op == ">":
        return np.asarray(a > b, dtype=bool)
    if op == ">=":
        return np.asarray(a >= b, dtype=bool)
    if op == "==":
        return np.asarray(a == b, dtype=bool)
    return np.asarray(a != b, dtype=bool)


def _state(ctx: _Context, node: Node) -> tuple[np.ndarray, np.ndarray]:
    key = id(node)
    if key in ctx.cache:
        return ctx.cache[key]
    if isinstance(node, Leaf):
        out = _leaf_state(ctx, node)
    elif isinstance(node, FlagRef):
        if node.name in ctx.typ.flags:
            val, known = _state(ctx, ctx.typ.flags[node.name])
        else:
            v = ctx.numeric(node.name)
            known = np.isfinite(v)
            val = (v != 0) & known
        out = ((~val) & known, known) if node.negate else (val, known)
    elif node.kind == "const":
        out = (np.full(ctx.n, node.value), np.ones(ctx.n, bool))
    else:
        states = [_state(ctx, ch) for ch in node.children]
        trues = np.vstack([t for t, _k in states])
        falses = np.vstack([~t & k for t, k in states])
        if node.kind == "all":
            is_false = falses.any(axis=0)
            is_true = trues.all(axis=0)
        elif node.kind == "any":
            is_true = trues.any(axis=0)
            is_false = falses.all(axis=0)
        else:  # not
            is_true, is_false = falses[0], trues[0]
        out = (np.asarray(is_true, dtype=bool), np.asarray(is_true | is_false, dtype=bool))
    ctx.cache[key] = out
    return out


def check_columns(df: pd.DataFrame, typ: Typology) -> None:
    """ColumnError when the typology reads a column the table lacks (naming where it is used
    and the closest column names)."""
    cols = [str(c) for c in df.columns]
    for col, where in typ.columns().items():
        if col not in df.columns:
            close = difflib.get_close_matches(col, cols, n=3)
            hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
            raise ColumnError(f"typology {typ.name!r} ({typ.source}): {where} uses column {col!r}, "
                              f"which the table does not have{hint} (columns: {', '.join(cols)})")


def evaluate(df: pd.DataFrame, typ: Typology, reasons: bool = True) -> Evaluation:
    """Classes (first class whose condition holds), subtypes, flags and reasons for every row.

    A row reaching a class whose condition is unknown gets ``typ.unknown_class``.
    """
    check_columns(df, typ)
    ctx = _Context(df.reset_index(drop=True), typ)
    flags = {name: _state(ctx, node) for name, node in typ.flags.items()}
    n = ctx.n
    classes = np.full(n, typ.unknown_class, dtype=object)
    subtypes = np.full(n, "", dtype=object)
    at = np.full(n, -1)
    open_ = np.ones(n, bool)
    decided = np.zeros(n, bool)
    for k, rule in enumerate(typ.classes):
        if rule.when is None:
            is_true, known = np.ones(n, bool), np.ones(n, bool)
        else:
            is_true, known = _state(ctx, rule.when)
        hit = open_ & is_true
        classes[hit] = rule.name
        subtypes[hit] = rule.subtype
        decided |= hit
        at[open_ & (is_true | ~known)] = k
        open_ &= ~is_true & known
    out = Evaluation(classes, subtypes, decided, flags)
    if reasons:
        out.reasons = [_reasons_of(ctx, int(at[i]), bool(decided[i]), i) for i in range(n)]
    return out


# ---------------------------------------------------------------------------------------------
# reasons


def fmt_threshold(v: float) -> str:
    """A threshold as written (``1``, ``2.5``, ``9.1``)."""
    return f"{v:g}"


def show_value(v: float, thr: float | None, dec: int | None) -> str:
    """``v`` with ``dec`` decimals (auto: 0 from 100, 1 from 10, else 2), with more decimals when
    that would print it equal to a different threshold ``thr``."""
    auto = dec is None
    if dec is None:
        a = abs(v)
        dec = 0 if a >= 100 or float(v).is_integer() else 1 if a >= 10 else 2
    for d in range(dec, dec + 4):
        txt = f"{v:.{d}f}"
        if thr is None or float(txt) != thr or v == thr:
            break
    else:
        txt = f"{v:.{dec + 4}f}"
    if auto and "." in txt:
        txt = txt.rstrip("0").rstrip(".")
    return txt


def _label(leaf: Leaf) -> str:
    return leaf.label or leaf.left.text


def _side_text(op: Operand, vals: np.ndarray | None, i: int, unit: str) -> str:
    if op.kind == "threshold" or op.kind == "number":
        v = float(vals[i]) if vals is not None else float(op.value)
        return f"{fmt_threshold(v)}{unit}"
    if op.kind == "string":
        return repr(op.value)
    assert vals is not None
    return f"{op.text} {_value_text(vals[i], None, None)}{unit}"


def _value_text(v: Any, thr: float | None, dec: int | None) -> str:
    if isinstance(v, float | int | np.floating | np.integer) and not isinstance(v, bool):
        return show_value(float(v), thr, dec)
    return repr(str(v).strip())


def _leaf_text(ctx: _Context, leaf: Leaf, i: int, state: str) -> str:
    lv, rv = ctx.values.get(id(leaf), (None, None))
    label = _label(leaf)
    if leaf.op in ("is missing", "is known"):
        missing = state == ("T" if leaf.op == "is missing" else "F")
        return f"{label} unknown" if missing else f"{label} {_value_text(lv[i], None, leaf.decimals)}"
    left = lv[i] if lv is not None else None
    left_known = left is not None and not (isinstance(left, float) and math.isnan(left)) and str(left) != ""
    if isinstance(leaf.right, tuple):
        if not left_known:
            return f"{label} unknown"
        shown = ", ".join(str(v) if isinstance(v, str) else fmt_threshold(v) for v in leaf.right)
        neg = (state == "F") != (leaf.op == "not in")
        return f"{label} {_value_text(left, None, leaf.decimals)} {'not in' if neg else 'in'} [{shown}]"
    assert isinstance(leaf.right, Operand)
    right_val = rv[i] if rv is not None else None
    right_known = right_val is not None and not (isinstance(right_val, float) and math.isnan(right_val))
    if not (left_known and right_known):
        what = label if not left_known else leaf.right.text
        if leaf.missing is None:
            return f"{what} unknown"
        return f"{what} unknown (counts as {'holding' if leaf.missing else 'not holding'})"
    thr = float(right_val) if isinstance(right_val, float | np.floating) else None
    sym = (_SHOW_TRUE if state == "T" else _SHOW_FALSE)[leaf.op]
    return (f"{label} {_value_text(left, thr, leaf.decimals)}{leaf.unit if thr is not None else ''} {sym} "
            f"{_side_text(leaf.right, rv, i, leaf.unit)}")


def _node_state(ctx: _Context, node: Node, i: int) -> str:
    t, k = _state(ctx, node)
    return "T" if t[i] else ("F" if k[i] else "U")


def explain(ctx: _Context, node: Node, i: int) -> list[str]:
    """Leaf texts that justify ``node``'s state for row ``i``."""
    state = _node_state(ctx, node, i)
    if isinstance(node, Leaf):
        return [_leaf_text(ctx, node, i, state)]
    if isinstance(node, FlagRef):
        if node.name in ctx.typ.flags:
            return explain(ctx, ctx.typ.flags[node.name], i)
        v = ctx.numeric(node.name)[i]
        return [f"{node.name} unknown" if math.isnan(v) else f"{node.name} {'yes' if v else 'no'}"]
    if node.kind == "const":
        return []
    if node.kind == "not":
        return explain(ctx, node.children[0], i)
    keep = {("all", "T"): "TFU", ("all", "F"): "F", ("all", "U"): "U",
            ("any", "T"): "T", ("any", "F"): "TFU", ("any", "U"): "U"}[(node.kind, state)]
    out: list[str] = []
    for ch in node.children:
        if _node_state(ctx, ch, i) in keep:
            out += explain(ctx, ch, i)
    return out


def _reasons_of(ctx: _Context, at: int, decided: bool, i: int) -> str:
    """The class that holds: its own measured values; the ``otherwise`` class: why each earlier
    class did not hold; an undecided unit: the unknown values of the class it stopped at."""
    rule = ctx.typ.classes[at]
    if rule.when is not None:
        text = "; ".join(explain(ctx, rule.when, i))
        return text if decided else f"{rule.name}? undecided: {text}"
    parts = []
    for r in ctx.typ.classes[:at]:
        assert r.when is not None
        parts.append(f"not {r.name}: " + ", ".join(explain(ctx, r.when, i)))
    return "; ".join(parts) if parts else "no condition"


def select_rows(df: pd.DataFrame, condition: str, what: str = "--where") -> np.ndarray:
    """Boolean mask of the rows where ``condition`` (one condition string) holds; rows where it is
    unknown are not selected."""
    node = parse_condition(condition, what)
    typ = Typology(name=what, column="_", classes=(ClassRule("_", None),), source=what)
    typ = replace(typ, flags={"_where": node})
    ev = evaluate(df, typ, reasons=False)
    return ev.flags["_where"][0]


def sensitivity_rows(df: pd.DataFrame, typ: Typology, changes: Sequence[float],
                     shares: Any, skip_zero: bool = True) -> list[dict[str, Any]]:
    """Baseline and one row per (varied threshold, change): ``shares(evaluation)`` gives the
    share columns, ``n_changed`` counts units whose class differs from the baseline.

    Thresholds with ``vary = false`` are not moved, nor (with ``skip_zero``) thresholds equal
    to 0, which a relative change cannot move."""
    base = evaluate(df, typ, reasons=False)
    rows = [{"parameter": "baseline", "change_pct": 0.0, "threshold": float("nan"),
             **shares(base), "n_changed": 0}]
    for name in typ.used_thresholds():
        th = typ.thresholds[name]
        if not th.vary or (skip_zero and th.value == 0.0):
            continue
        for ch in changes:
            value = th.value * (1.0 + ch)
            ev = evaluate(df, typ.with_threshold(name, value), reasons=False)
            rows.append({"parameter": name, "change_pct": round(ch * 100.0, 6), "threshold": value,
                         **shares(ev), "n_changed": int((ev.classes != base.classes).sum())})
    return rows
