"""Expand a spec's layer entries into a DAG of nodes: repeats, branches and merges, blocks, references.

The forms an entry can take (each may also carry ``name``, ``repeat``, ``inputs`` and ``if``):
- a layer: ``relu`` or ``{type: conv2d, ...}``;
- a repeat group: ``{repeat: 3, layers: [...]}``;
- a merge over branches: ``{type: concat | add, branches: [[...], [...], []]}`` (``[]``: the identity path);
- a block: ``{block: bottleneck, with: {width: 64}, repeat: 3, first: {stride: 2}, each: [...]}``.
``inputs: [a, b]`` takes those earlier named outputs instead of the previous one (``input`` is the network's
input): skip connections by name, resolved from the innermost block outwards; only earlier names, so no cycles.

In a block, ``$arg`` is an argument's value, ``"${width * 4}"`` integer arithmetic on them (quoted in a one-line
``{...}``); ``if: $project`` or ``if: "${stride == 1 and not project}"`` keeps an entry only when true.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnncalc.engine.layers import REGISTRY, suggest
from cnncalc.errors import SpecError
from cnncalc.model import INPUT, Group, Node
from cnncalc.spec.args import substitute
from cnncalc.spec.loader import line_of
from cnncalc.spec.pieces import piece
from cnncalc.spec.validate import SCALARS, LayerMemo, validate_layer

#: A spec can never expand to more layers than this (``repeat: 10**9`` is an error, not a hang).
MAX_LAYERS = 100_000
#: How deep blocks, branches and repeat groups may nest (Inception-style specs use 3 or 4 levels).
MAX_NESTING = 100
_GRAPH_KEYS = {"name", "repeat", "inputs", "if", "branches"}
_BLOCK_KEYS = {"block", "name", "repeat", "with", "first", "each", "inputs", "if"}


@dataclass(frozen=True, slots=True)
class BlockDef:
    """A reusable block: argument defaults (``None`` = required) and its layer entries."""

    name: str
    args: dict[str, Any]
    layers: list[Any]
    line: int | None = None


class _At(dict[str, Any]):
    """A layer written as a bare string, turned into a mapping that keeps the string's line."""

    __slots__ = ("key_lines", "line")  # one per bare layer name: no instance dict

    def __init__(self, data: dict[str, Any], line: int | None) -> None:
        super().__init__(data)
        self.line = line or 0
        self.key_lines: dict[str, int] = {}


# --- the builder ----------------------------------------------------------------------------------------------


@dataclass
class _Scope:
    """Names visible inside one block instance (or the top level), and how to spell new ones."""

    prefix: str
    parent: _Scope | None
    groups: tuple[str, ...]
    local: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def resolve(self, name: str) -> str | None:
        scope: _Scope | None = self
        while scope is not None:
            if name in scope.local:
                return scope.local[name]
            scope = scope.parent
        return None

    def auto(self, kind: str) -> str:
        while True:
            self.counters[kind] = self.counters.get(kind, 0) + 1
            name = f"{kind}_{self.counters[kind]}"
            if name not in self.local:
                return name


class Builder:
    """Turns validated header data into nodes and groups; every error carries the file and line."""

    def __init__(self, blocks: dict[str, BlockDef], file: str | None) -> None:
        self.blocks = blocks
        self.file = file
        self.nodes: list[Node] = []
        self.groups: list[Group] = []
        self.full_names: dict[str, int | None] = {INPUT: None}
        self._sizes: dict[str, int] = {}
        self._stack: list[str] = []
        #: The spec's layer entries: every ``name:`` written in them or in a block tells "defined later" from "never
        #: defined" in errors, found only when such an error is worded.
        self.entries: list[Any] = []
        self._by_name: dict[str, Node] = {}
        self._layers = LayerMemo()

    # -- errors and sizes

    def fail(self, reason: str, entry: Any = None, key: str | None = None, layer: str | None = None) -> SpecError:
        return SpecError(reason, file=self.file, line=line_of(entry, key), layer=layer)

    def size(self, entries: Any, depth: int = 0) -> int:
        """Upper bound on the nodes ``entries`` expand to (``if:`` ignored), so absurd repeats fail up front; also
        bounds how deep blocks, branches and repeat groups nest (:data:`MAX_NESTING`)."""
        total = 0
        if depth > MAX_NESTING and isinstance(entries, list) and entries:
            raise self.fail(
                f"blocks, branches and repeat groups nest more than {MAX_NESTING} levels deep here"
                + (f" ({' → '.join(self._stack[:3])} → … → {self._stack[-1]})" if len(self._stack) > 3 else ""),
                *((entries[0], None) if isinstance(entries[0], dict) else (entries, 0)),
            )
        for entry in entries if isinstance(entries, list) else []:
            times = self.repeat(entry) if isinstance(entry, dict) and "repeat" in entry else 1
            if isinstance(entry, dict) and "block" in entry:
                name = entry["block"]
                if name in self._stack:
                    chain = " → ".join([*self._stack[self._stack.index(name) :], name])
                    raise self.fail(f"block '{name}' contains itself ({chain})", entry, "block")
                block = self.blocks.get(name) if isinstance(name, str) else None
                if block is None:
                    raise self._unknown_block(entry)
                if name not in self._sizes:
                    self._stack.append(name)
                    self._sizes[name] = self.size(block.layers, depth + 1)
                    self._stack.pop()
                inner = self._sizes[name]
            elif isinstance(entry, dict) and "layers" in entry and "type" not in entry:
                inner = self.size(entry["layers"], depth + 1)
            elif isinstance(entry, dict) and "branches" in entry:
                branches = entry["branches"] if isinstance(entry["branches"], list) else []
                inner = 1 + sum(self.size(b if isinstance(b, list) else [b], depth + 1) for b in branches)
            else:
                inner = 1
            total += times * inner
            if total > MAX_LAYERS:
                raise self.fail(
                    f"the layers expand to more than {MAX_LAYERS:,} layers (check the repeat counts)", entry, "repeat"
                )
        return total

    def repeat(self, entry: dict[str, Any]) -> int:
        times = entry.get("repeat", 1)
        if isinstance(times, str) and times.startswith("$"):
            return 1  # resolved per instance; bounded again when the block is expanded
        if not isinstance(times, int) or isinstance(times, bool) or times < 1:
            raise self.fail(f"repeat must be a positive int, got {times!r}", entry, "repeat")
        if times > MAX_LAYERS:
            raise self.fail(f"repeat: {times:,} is more than the limit of {MAX_LAYERS:,} layers", entry, "repeat")
        return times

    def _unknown_block(self, entry: dict[str, Any]) -> SpecError:
        import difflib

        name = entry.get("block")
        close = difflib.get_close_matches(str(name), list(self.blocks), n=1)
        known = ", ".join(self.blocks) or "none are defined under 'blocks:'"
        hint = f" (did you mean '{close[0]}'?)" if close else f"; known blocks: {known}"
        return self.fail(f"unknown block '{name}'{hint}", entry, "block")

    # -- walking entries

    def chain(self, entries: list[Any], current: str, scope: _Scope, suffix: str = "") -> str:
        """Add ``entries`` in order, each fed by the previous output; return the last output's name."""
        lines = getattr(entries, "key_lines", None) or {}
        line = line_of(entries)  # an item without a line of its own is placed at the list's
        for index, entry in enumerate(entries):
            current = self.entry(entry, current, scope, suffix, int(lines[index]) if index in lines else line)
        return current

    def entry(self, entry: Any, current: str, scope: _Scope, suffix: str, line: int | None) -> str:
        if isinstance(entry, str):  # a layer by name (``relu``): nothing but its type
            return self.layer(_At({"type": entry}, line), current, scope, suffix)
        if not isinstance(entry, dict):
            raise SpecError(
                f"a layer must be a name like 'relu' or a mapping with 'type', got {entry!r:.60}",
                file=self.file, line=line,
            )
        if "if" in entry:
            cond = entry["if"]
            if not isinstance(cond, bool):
                raise self.fail(f"'if' needs true or false (a block argument), got {cond!r}", entry, "if")
            if not cond:
                return current
        times = self.repeat(entry) if "repeat" in entry else 1
        if "block" in entry:
            return self.block(entry, current, scope, suffix, times)
        if "type" not in entry and "layers" in entry:
            extra = set(entry) - {"layers", "repeat", "if"}
            if extra or not isinstance(entry["layers"], list):
                raise self.fail(
                    f"a repeat group takes only 'repeat' and a list of 'layers' (got {sorted(map(str, extra))})",
                    entry,
                )
            for r in range(times):
                current = self.chain(entry["layers"], current, scope, f"{suffix}_{r + 1}" if times > 1 else suffix)
            return current
        for r in range(times):
            current = self.layer(entry, current, scope, suffix + (f"_{r + 1}" if times > 1 else ""))
        return current

    def inputs(self, entry: dict[str, Any], current: str, scope: _Scope) -> tuple[str, ...]:
        refs = entry.get("inputs")
        if refs is None:
            return (current,)
        if isinstance(refs, str):
            refs = [refs]
        if not isinstance(refs, list) or not refs or not all(isinstance(r, str) for r in refs):
            raise self.fail("inputs must be a list of earlier layer names", entry, "inputs")
        return tuple(self.resolve(r, entry, "inputs", scope) for r in refs)

    def resolve(self, ref: str, entry: Any, key: str, scope: _Scope) -> str:
        if ref == INPUT:
            return INPUT
        found = scope.resolve(ref)
        if found is not None:
            return found
        if (made := piece(ref, scope.resolve, self._by_name, self.nodes, self.full_names, line_of(entry, key))):
            return made  # split1.0: a piece of a split (cnncalc.spec.pieces)
        import difflib

        if ref in _scan_names(self.entries, self.blocks):
            raise self.fail(
                f"'{ref}' is not an earlier layer visible here; {key} may only name layers defined before it, in "
                "this block or around it (so no cycles)", entry, key,
            )
        close = difflib.get_close_matches(ref, [n.rsplit("/", 1)[-1] for n in self.full_names], n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        raise self.fail(f"{key} names '{ref}', which is not an earlier layer{hint}", entry, key)

    def layer(self, entry: dict[str, Any], current: str, scope: _Scope, suffix: str) -> str:
        """Validate one layer entry (with its branches, if any) and add its node."""
        kind = entry.get("type")
        given = entry.get("name")
        if not isinstance(kind, str):
            raise self.fail("layer has no 'type'", entry, layer=f"'{given}'" if given else None)
        lower = kind.lower()
        cls = REGISTRY.get(lower)
        if cls is None:
            close = suggest(kind)
            raise SpecError(
                f"unknown layer type '{kind}'" + (f" (did you mean '{close}'?)" if close else ""),
                file=self.file, line=line_of(entry, "type"), layer=f"'{given}'" if given else None,
                hint=None if close else "`cnncalc layer` lists every type",
            )
        kind = lower
        layer = self._layers.get(cls, entry)
        if layer is None:
            layer = self._layers.add(cls, entry, validate_layer(cls, entry, kind, _GRAPH_KEYS, file=self.file,
                                                                label=_label(scope, given, kind)))
        local = (layer.name + suffix) if layer.name else None
        if local == INPUT:
            raise self.fail("'input' is reserved for the network input", entry, "name",
                            layer=_label(scope, given, kind))
        if local is not None and local in scope.local:
            earlier = self.full_names.get(scope.local[local])
            raise self.fail(f"duplicate layer name '{local}'" + (f" (also line {earlier})" if earlier else ""), entry,
                            "name", layer=_label(scope, given, kind))
        inputs = self.inputs(entry, current, scope) if "inputs" in entry else (current,)
        name = local or scope.auto(kind)
        if "branches" in entry:
            inputs = self.branches(entry, inputs, scope, name)
        try:  # a link (crop's to, max-unpool's indices, upsample's size_like) names an earlier node, as inputs do
            links = tuple((f, self.resolve(getattr(layer, f), entry, f, scope))
                          for f in layer.links if getattr(layer, f) is not None) if layer.links else ()
        except SpecError as err:
            raise err.located(layer=_label(scope, given, kind)) from None
        full = scope.prefix + name
        scope.local[name] = full
        line = line_of(entry)
        self.full_names[full] = line
        node = Node(full, layer, inputs, line, scope.groups, links)
        self.nodes.append(node)
        self._by_name[full] = node
        if len(self.nodes) > MAX_LAYERS:
            raise self.fail(f"the layers expand to more than {MAX_LAYERS:,} layers", entry)
        return full

    def branches(self, entry: dict[str, Any], inputs: tuple[str, ...], scope: _Scope, name: str) -> tuple[str, ...]:
        """Each branch is a chain from the merge's input; ``[]`` is the identity path."""
        branches = entry["branches"]
        if not isinstance(branches, list) or len(branches) < 2:
            raise self.fail("branches must be a list of at least two layer lists", entry, "branches")
        if len(inputs) != 1:
            raise self.fail("a merge takes either branches or several inputs, not both", entry, "inputs")
        outs = []
        for i, branch in enumerate(branches):
            items = branch if isinstance(branch, list) else [branch]
            sub = _Scope(f"{scope.prefix}{name}/b{i + 1}/", scope, scope.groups)
            outs.append(self.chain(items, inputs[0], sub))
        return tuple(outs)

    def block(self, entry: dict[str, Any], current: str, scope: _Scope, suffix: str, times: int) -> str:
        """Instantiate a block ``times`` times in a row, each instance a named group with its own arguments."""
        extra = set(entry) - _BLOCK_KEYS
        if extra:
            raise self.fail(f"a block instance takes {', '.join(sorted(_BLOCK_KEYS))}; not {sorted(extra)}", entry)
        name = entry["block"]
        block = self.blocks.get(name) if isinstance(name, str) else None
        if block is None:
            raise self._unknown_block(entry)
        self.size([entry])  # bounds the expansion and catches recursion before any work
        base = entry.get("name") or scope.auto(name)
        if not isinstance(base, str):
            raise self.fail("a block instance's name must be a string", entry, "name")
        if entry.get("inputs") is not None:
            refs = self.inputs(entry, current, scope)
            if len(refs) != 1:
                raise self.fail("a block instance takes one input", entry, "inputs")
            current = refs[0]
        for r, args in enumerate(self.instance_args(entry, block, times)):
            inst = base + suffix + (f"_{r + 1}" if times > 1 else "")
            if inst in scope.local:
                raise self.fail(f"duplicate layer name '{inst}'", entry, "name", layer=inst)
            full = scope.prefix + inst
            self.groups.append(Group(full, name, len(scope.groups) + 1, line_of(entry)))
            sub = _Scope(full + "/", scope, (*scope.groups, full))
            self._stack.append(name)
            try:
                body = substitute(block.layers, args)
            except SpecError as err:
                raise err.located(file=self.file, line=line_of(entry), layer=f"{inst} (block {name})") from None
            before = len(self.nodes)
            current = self.chain(body, current, sub)
            self._stack.pop()
            if len(self.nodes) == before:
                raise self.fail(f"block '{name}' produced no layers with these arguments", entry)
            scope.local[inst] = current  # the instance's name refers to its output
        return current

    def instance_args(self, entry: dict[str, Any], block: BlockDef, times: int) -> list[dict[str, Any]]:
        """Each instance's arguments: defaults, then ``with``, then ``first`` (instance 1), then ``each[i]``."""
        common = entry.get("with", {})
        each = entry.get("each")
        first = entry.get("first", {})
        for key, value in (("with", common), ("first", first)):
            if not isinstance(value, dict):
                raise self.fail(f"'{key}' must map argument names to values", entry, key)
        if each is not None and (not isinstance(each, list) or len(each) != times
                                 or not all(isinstance(e, dict) for e in each)):
            raise self.fail(f"'each' must list one argument mapping per instance ({times})", entry, "each")
        out = []
        for r in range(times):
            args = dict(block.args)
            overrides = {**common, **(first if r == 0 else {}), **(each[r] if each else {})}
            unknown = sorted(map(str, set(overrides) - set(args)))
            if unknown:
                import difflib

                close = difflib.get_close_matches(unknown[0], list(args), n=1)
                hint = f"did you mean '{close[0]}'?" if close else f"it takes: {', '.join(args) or 'none'}"
                raise self.fail(f"block '{block.name}' has no argument {', '.join(unknown)} ({hint})", entry, "with")
            args.update(overrides)
            missing = [k for k, v in args.items() if v is None]
            if missing:
                raise self.fail(f"block '{block.name}' needs a value for {', '.join(missing)}", entry, "with")
            out.append(args)
        return out


def _label(scope: _Scope, given: Any, kind: str) -> str:
    """The layer as messages name it (before its automatic name is taken)."""
    name = given if isinstance(given, str) else f"{kind}_{scope.counters.get(kind, 0) + 1}"
    return f"'{scope.prefix}{name}' ({kind})"


def expand(entries: list[Any], blocks: dict[str, BlockDef], file: str | None) -> tuple[list[Node], list[Group]]:
    """Build the DAG of a spec's layer entries."""
    builder = Builder(blocks, file)
    builder.entries = entries
    builder.size(entries)
    builder.chain(entries, INPUT, _Scope("", None, ()))
    return builder.nodes, builder.groups


def _scan_names(entries: Any, blocks: dict[str, BlockDef]) -> set[str]:
    names: set[str] = set()

    def visit(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("name"), str):
                names.add(value["name"])
            values: Any = value.values()
        else:
            values = value
        if SCALARS.issuperset(map(type, values)):
            return  # one C pass over a flat entry (most entries) instead of a test per value
        for v in values:
            if isinstance(v, dict | list):  # scalars hold no names (and a call per scalar is most of the time)
                visit(v)

    for top in (entries, *(block.layers for block in blocks.values())):
        if isinstance(top, dict | list):
            visit(top)
    return names
