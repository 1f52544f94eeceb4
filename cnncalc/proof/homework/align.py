"""Which layer each table row stands for: by name, by kind, or in order so that the most cells agree.

A table may leave out the layers a course table usually folds away (the registry marks them ``quiet``), give a
fused activation a row of its own, start with an ``input`` row, end with a ``total`` row, or have a row for a
whole block instance. A row's name, when it has one, can name a layer, a block, or a layer's family (``POOL2``,
``FC``, ``ReLU``); the families come from the registry's roles, never from type names.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Layer
from cnncalc.engine.report import Report
from cnncalc.model import Node
from cnncalc.proof.homework.cells import Given
from cnncalc.proof.homework.derive import Engine, Unit, agrees
from cnncalc.proof.homework.table import Table

_TOTAL = {"total", "totals", "sum", "overall", "network", "whole network"}


def name_key(text: str) -> str:
    """A row label or layer name reduced for matching: ``CONV1 (f=5, s=1):`` → ``conv1``, while GoogLeNet's
    ``inception (3a)`` → ``inception3a`` keeps its short index."""
    text = re.sub(r"\((?![0-9][a-z0-9]?\))[^)]*\)|\[[^]]*\]", " ", text.lower())
    return re.sub(r"[^a-z0-9]+", "", text)


#: How a row's written name says what family of layer it is (``C1``, ``S2`` and ``F6`` are LeNet-5's).
_ROW_FAMILY = [
    (r"input|data|image|img", "input"),
    (r"softmax|logsoftmax", "softmax"),
    (r"mha|msa|attn|attention|multihead", "attention"),
    (r"relu|leakyrelu|prelu|elu|selu|gelu|silu|swish|tanh|sigmoid|hardswish|act", "act"),
    (r"conv|dwconv|deconv|c\d", "conv"),
    (r"maxpool|avgpool|pool|subsampl|gap|gmp|mp\d|s\d|m\d*$", "pool"),
    (r"fc|linear|dense|affine|full|f\d|output|out$", "fc"),
    (r"bn|batchnorm|norm|lrn", "norm"),
    (r"drop", "dropout"),
    (r"flatten", "flatten"),
]


def row_family(key: str) -> str | None:
    """The family a row's name states; for an activation, its own name (``relu``), so ReLU rows match relus."""
    for pattern, family in _ROW_FAMILY:
        if re.match(pattern, key):
            if family == "act":
                word = re.match(r"[a-z]+", key)
                return word.group(0) if word else "act"
            return family
    return None


def _act_families(kind: str) -> set[str]:
    """The families a row naming activation ``kind`` may state: its registry family, and for an activation its
    own name."""
    family = REGISTRY[kind].family
    return {family, kind.replace("_", "")} if family == "act" else {family}


def families(layer: Layer) -> set[str]:
    """The families a row for ``layer`` may name: its own, and its fused activation's."""
    out = _act_families(layer.type) if type(layer).family == "act" else {type(layer).family}
    act = getattr(layer, "activation", None)
    if act:
        out |= _act_families(act)
    return out


def units(eng: Engine, split: bool) -> list[Unit]:
    """What rows can stand for, in order: the input, then each layer (with fused activations split when asked)."""
    out = [Unit("input", "input", None, quiet=True, families=frozenset({"input"}),
                keys=frozenset({"input", "data", "image", "in"}))]
    consumers: dict[str, list[Node]] = {}
    for node in eng.net.nodes:
        for name in node.inputs:
            consumers.setdefault(name, []).append(node)
    for node in eng.net.nodes:
        short = node.name.rsplit("/", 1)[-1]
        keys = {name_key(node.name), name_key(short)}
        act = getattr(node.layer, "activation", None)
        quiet = type(node.layer).quiet
        after = consumers.get(node.name, [])
        if not quiet and len(after) == 1 and type(after[0].layer).family == "softmax":
            # A table's "Softmax" row after the last FC stands for the FC's output and softmax, fused or not.
            act = act or "softmax"
            if not split or getattr(node.layer, "activation", None) is None:
                fams = families(node.layer) | {"softmax"}
                out.append(Unit(node.name, "layer", node, quiet, frozenset(fams), frozenset(keys)))
                continue
        if split and act:
            bare = families(node.layer.model_copy(update={"activation": None}))
            out.append(Unit(node.name, "bare", node, quiet, frozenset(bare), frozenset(keys)))
            digits = re.search(r"\d+$", name_key(short))
            act_keys = {name_key(node.name) + name_key(act), name_key(act) + (digits.group(0) if digits else "")}
            out.append(Unit(f"{node.name}/{act}", "act", node, True, frozenset(_act_families(act)),
                            frozenset(act_keys)))
        else:
            out.append(Unit(node.name, "layer", node, quiet, frozenset(families(node.layer)), frozenset(keys)))
    return out


@dataclass(frozen=True, slots=True)
class Match:
    """Rows paired with units, the units no row stands for, and the alignment's score."""

    units: list[Unit]
    pairs: list[tuple[int, Unit]]
    skipped: list[Unit]
    score: float
    #: Rows (indices) that stand for no layer of the spec (a Keras ``Flatten`` row for a spec that flattens
    #: inside its linear layer), left unchecked rather than refusing the table.
    unplaced: tuple[int, ...] = ()
    #: Whether the rows were placed by their names (else in order, by their cells).
    by_name: bool = False


#: What leaving a row unplaced costs: more than any single placement can gain, so it is the last resort.
ROW_SKIP = -60.0
#: What placing a row on a layer that is not the one its name names costs (course tables number FC3, FC4 where
#: a spec has fc_1, fc_2): the name is a strong hint, never a wall.
NAME_CONFLICT = -40.0


def _align(eng: Engine, units: list[Unit], rows: list[int], cells: list[list[Given]], labels: list[str],
           by_name: bool, covered: set[str], allow_unplaced: bool = True, hints: bool = False,
           ) -> tuple[Match | None, int]:
    """Rows (indices into ``cells``) aligned with ``units`` in order, maximising the cells that agree.

    Units may be left out of the table: the input and quiet layers freely, other layers at a cost. With names, a
    row whose name is some unit's name prefers that unit (another costs :data:`NAME_CONFLICT`), and a named
    family (conv, pool, fc, relu…) matches only units of that family. A row naming a kind of layer the spec has
    none of may be left unplaced at :data:`ROW_SKIP` (unless ``allow_unplaced`` is false). In order with
    ``hints``, names only break ties, and a row whose name states a layer's kind is never the input. Returns the
    best alignment, or None and the first row that cannot be placed.
    """
    exact_owner: dict[str, int] = {}
    for j, u in enumerate(units):
        for k in u.keys:
            exact_owner.setdefault(k, j)

    written = [name_key(labels[i]) for i in rows]
    present = {f for u in units for f in u.families}
    #: Rows whose name states a kind of layer the spec has none of (Keras's ``Flatten`` where the spec flattens
    #: inside its linear layer, a ``Dropout`` a spec leaves out): they may stand for nothing.
    foldable = {i for i in rows if by_name and allow_unplaced and row_family(name_key(labels[i])) not in
                (None, "input", *present)}
    #: A label used on several rows (cs231n's "POOL2", "FC") names a kind of layer, not one layer.
    repeated = {k for k in written if written.count(k) > 1}

    def score(i: int, j: int) -> float | None:
        u = units[j]
        s = 0.0 if u.quiet else 0.5
        if by_name and labels[i]:
            key = name_key(labels[i])
            if key in u.keys and key not in repeated:
                s += 100
            elif key in exact_owner and key not in repeated:
                s += NAME_CONFLICT
                family = row_family(key)
                if family is not None and family not in u.families:
                    return None
            else:
                family = row_family(key)
                if family is not None:
                    if family not in u.families:
                        return None
                    s += 20
        elif hints and labels[i]:
            key = name_key(labels[i])
            family = row_family(key)
            if u.role == "input" and family not in (None, "input"):
                return None
            s += 2 * (key in u.keys) + (family in u.families)
        return s + 4 * sum(agrees(eng, u, g, "either") for g in cells[i])  # a right cell outweighs a skip

    def skip(j: int) -> float:
        node = units[j].node
        return 0.0 if units[j].quiet or (node is not None and node.name in covered) else -3.0

    return _best_path(units, rows, score, skip, foldable, by_name)


def _best_path(units: list[Unit], rows: list[int], score: Callable[[int, int], float | None],
               skip: Callable[[int], float], foldable: set[int], by_name: bool) -> tuple[Match | None, int]:
    """The dynamic programme of :func:`_align`: rows placed on units in order, units skipped, foldable rows left."""
    n, m = len(rows), len(units)
    neg = float("-inf")
    best = [[neg] * (m + 1) for _ in range(n + 1)]
    back: dict[tuple[int, int], tuple[int, int]] = {}
    best[0][0] = 0.0
    for j in range(m + 1):
        for i in range(n + 1):
            here = best[i][j]
            if here == neg:
                continue
            if i < n and rows[i] in foldable and here + ROW_SKIP > best[i + 1][j]:
                best[i + 1][j] = here + ROW_SKIP
                back[(i + 1, j)] = (i, j)
            if j == m:
                continue
            if here + skip(j) > best[i][j + 1]:
                best[i][j + 1] = here + skip(j)
                back[(i, j + 1)] = (i, j)
            if i < n:
                s = score(rows[i], j)
                if s is not None and here + s > best[i + 1][j + 1]:
                    best[i + 1][j + 1] = here + s
                    back[(i + 1, j + 1)] = (i, j)
    if best[n][m] == neg:
        reached = max((i for i in range(n + 1) for j in range(m + 1) if best[i][j] != neg), default=0)
        return None, rows[min(reached, n - 1)]
    pairs: list[tuple[int, Unit]] = []
    skipped: list[Unit] = []
    unplaced: list[int] = []
    i, j = n, m
    while i > 0 or j > 0:
        pi, pj = back[(i, j)]
        if pi == i:
            skipped.append(units[pj])
        elif pj == j:
            unplaced.append(rows[pi])
        else:
            pairs.append((rows[pi], units[pj]))
        i, j = pi, pj
    return Match(units, pairs[::-1], skipped[::-1], best[n][m], tuple(unplaced[::-1]), by_name), -1


def fixed_rows(tab: Table, report: Report, names: list[str], name_col: int | None,
               ) -> tuple[list[int], list[tuple[int, Unit]]]:
    """Rows that need no alignment: a total row, and rows that name a block instance (a stage, a module)."""
    total_keys = {name_key(t) for t in _TOTAL}
    firsts = names if name_col is not None else [row[0] if row else "" for _, row in tab.rows]
    totals = [i for i, label in enumerate(firsts) if name_key(label) in total_keys]
    written = [name_key(n) for n in names]
    blocks = {name_key(b.name): b.name for b in report.blocks}
    block_rows = [(i, Unit(blocks[k], "block")) for i, k in enumerate(written)
                  if k in blocks and written.count(k) == 1 and i not in totals]
    return totals, block_rows


def _by_name_only(eng: Engine, rows: list[int], names: list[str]) -> Match | None:
    """Rows matched by their names alone, in any order, when every row names exactly one layer (or activation)."""
    keys = [name_key(names[i]) for i in rows]
    if not all(keys) or len(set(keys)) != len(keys):
        return None
    fused, split = units(eng, False), units(eng, True)
    acts = {k: u for u in split if u.role == "act" for k in u.keys}
    split_nodes = {node.name for k in keys if k in acts for node in [acts[k].node] if node is not None}
    candidates = [fused[0]]  # the input
    for node in eng.net.nodes:
        source = split if node.name in split_nodes else fused
        candidates += [u for u in source if u.node is node]
    pairs = []
    for i, key in zip(rows, keys, strict=True):
        found = [u for u in candidates if key in u.keys]
        if len(found) != 1:
            return None
        pairs.append((i, found[0]))
    used = {id(u) for _, u in pairs}
    if len(used) != len(pairs):
        return None
    order = {id(u): n for n, u in enumerate(candidates)}
    skipped = sorted((u for u in candidates if id(u) not in used), key=lambda u: order[id(u)])
    return Match(candidates, pairs, skipped, 0.0)


def best_match(eng: Engine, tab: Table, rows: list[int], cells: list[list[Given]], names: list[str],
               by_name: bool, covered: set[str]) -> Match:
    """The rows' layers: by names alone when they say it all, else the better of the fused and split alignments."""
    direct = _by_name_only(eng, rows, names) if by_name else None
    if direct is not None:
        named = Match(direct.units, direct.pairs, direct.skipped, direct.score, (), True)
        order = [direct.units.index(u) for _, u in direct.pairs]
        return named if order == sorted(order) else _or_in_order(eng, named, rows, cells, names, covered) or named
    best: Match | None = None
    stuck = -1
    for split in (False, True):
        got, at = _align(eng, units(eng, split), rows, cells, names, by_name, covered)
        if got is not None and (best is None or (len(got.unplaced), -got.score) < (len(best.unplaced), -best.score)):
            best = got
        stuck = max(stuck, at)
    if by_name and best is not None and best.unplaced:
        # Names that do not fit: the order alternative, when fewer of its cells disagree.
        def wrong(m: Match) -> int:
            return sum(not agrees(eng, u, g, "either") for i, u in m.pairs for g in cells[i])

        for split in (False, True):
            got, _ = _align(eng, units(eng, split), rows, cells, names, False, covered)
            if got is not None and wrong(got) < wrong(best):
                best = got
    if by_name:
        best = _or_in_order(eng, best, rows, cells, names, covered)
    if best is None:
        layers = list(eng.net.nodes)
        main = [n for n in layers if not type(n.layer).quiet]
        label = names[stuck] if names[stuck] else tab.rows[stuck][1][0] if tab.rows[stuck][1] else ""
        what = f" ('{label}')" if label else ""
        if by_name:
            reason = f"cannot place{what}: its name or kind does not fit the spec's layers in the table's order"
        else:
            reason = (f"cannot match the table's {len(rows)} rows to the spec's {len(layers)} layers in order "
                      f"({len(main)} not counting activations, dropout, flatten and normalisation, which a table "
                      f"may leave out; an input row is allowed); this row{what} is the first left over")
        raise tab.fail(reason, stuck + 1, hint="add a 'Layer' column with the spec's layer names "
                                               f"({', '.join(n.name for n in layers[:6])}{', …' * (len(layers) > 6)})")
    return best


def name_slips(match: Match, names: list[str]) -> list[tuple[int, Unit]]:
    """Rows placed on a layer of another kind than their name states (``conv2`` on the spec's second pool)."""
    return [(i, u) for i, u in match.pairs
            if names[i] and row_family(name_key(names[i])) not in (None, *u.families)]


def _or_in_order(eng: Engine, named: Match | None, rows: list[int], cells: list[list[Given]], names: list[str],
                 covered: set[str]) -> Match | None:
    """The order alignment instead of names that contradict the spec's kinds in order, when it fits: rows placed
    against their names' kind agree in every shape they give and in a shape or nonzero figure (a 0 fits too many
    layers to place a row), and fewer cells are flagged (a name slip counts as one). Never a layer row on the
    input (names break ties)."""
    def flagged(m: Match) -> int:
        return len(name_slips(m, names)) + sum(not agrees(eng, u, g, "either") for i, u in m.pairs for g in cells[i])

    def fits(m: Match) -> bool:
        for i, u in name_slips(m, names):
            telling = [agrees(eng, u, g, "either") for g in cells[i] if g.shape or (g.number and g.number[0])]
            shapes = [agrees(eng, u, g, "either") for g in cells[i] if g.column.kind == "shape"]
            if not any(telling) or not all(shapes):
                return False
        return True

    best = named
    for split in (False, True):
        got, _ = _align(eng, units(eng, split), rows, cells, names, False, covered, hints=True)
        if got is not None and fits(got) and (best is None or flagged(got) < flagged(best)):
            best = got
    return best


def match_notes(eng: Engine, header: str, match: Match, names: list[str], by_name: bool, count: int,
                covered: set[str]) -> list[str]:
    """Notes on how the rows were matched: by name or in order, the input row, split activations, skipped layers."""
    notes = []
    layers = len(eng.net.nodes)
    if by_name and not match.by_name:
        notes.append(f"the names in {header} do not fit the spec's layers in the table's order, so rows were "
                     "matched in order, by their cells")
        by_name = False
    how = f"by the names in {header}" if by_name else "in order"
    counted = f"the table has {count} row{'s' * (count != 1)} and the spec {layers} layer{'s' * (layers != 1)}"
    pairs = match.pairs
    parts = [f"rows matched to the spec's layers {how}"]
    if count != layers or not by_name:
        parts.insert(0, counted)
    notes.append("; ".join(parts))
    inputs = [i + 1 for i, u in pairs if u.role == "input"]
    if inputs:
        notes.append(f"row {inputs[0]} is the network's input ({'x'.join(map(str, eng.report.input))})")
    acts = [(i + 1, u) for i, u in pairs if u.role == "act"]
    if acts:
        fused = ", ".join(f"row {i} is {u.node.name if u.node else u.name}'s fused {u.name.rsplit('/', 1)[-1]}"
                          for i, u in acts)
        notes.append(f"the spec fuses activations that the table lists on their own rows: {fused} (the layer's "
                     "own row then counts it without the activation)")
    quiet = [u.name for u in match.skipped if u.role not in ("input", "act") and u.quiet]
    if quiet and not by_name:
        notes.append(f"not in the table (activations, dropout, flatten, normalisation): {_few(quiet)}")
    loud = [u.name for u in match.skipped if not u.quiet and u.name not in covered]
    if loud:
        notes.append(f"layers with no row in the table, so not checked: {_few(loud)}")
    slips = name_slips(match, names)
    if slips:
        notes.append("name slips (flagged): " + ", ".join(f"row {i + 1} ('{names[i]}') is {u.name}" for i, u in slips)
                     + ", by its place in order and its cells")
    if match.unplaced:
        shown = ", ".join(f"{i + 1}" + (f" ('{names[i]}')" if names[i] else "") for i in match.unplaced[:8])
        notes.append(f"row{'s' * (len(match.unplaced) > 1)} {shown} stand{'s' * (len(match.unplaced) == 1)} for "
                     "a kind of layer the spec has none of (it folds it into another layer, e.g. a linear layer's "
                     "flatten: true, or leaves it out), so not checked")
    if by_name:
        unknown = [i + 1 for i, u in pairs if names[i] and name_key(names[i]) not in u.keys
                   and row_family(name_key(names[i])) is None]
        if unknown:
            notes.append(f"row{'s' * (len(unknown) > 1)} {', '.join(map(str, unknown))}: the name matches no "
                         "layer; placed by order and cells")
    return notes


def _few(names: list[str]) -> str:
    return ", ".join(names[:8]) + (f", … ({len(names)} in all)" if len(names) > 8 else "")
