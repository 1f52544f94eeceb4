"""The analysis result as plain data: one row per layer, the totals, and ``to_dict()`` — the JSON contract.

Renderers, ``verify`` and the torch bridge read a Report; none of them recomputes a figure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Literal

from cnncalc.model import direct_init

if TYPE_CHECKING:
    from cnncalc.engine.fields import DimField
    from cnncalc.model import Network, Node, Shape

Dtype = Literal["float32", "float16", "bfloat16", "int8"]
DTYPE_BYTES: dict[str, int] = {"float32": 4, "float16": 2, "bfloat16": 2, "int8": 1}


@direct_init
@dataclass(frozen=True, slots=True)
class LayerRow:
    """One layer's figures for the whole batch (parameters and buffers do not scale with it)."""

    name: str
    type: str
    summary: str
    output_shape: tuple[int, ...]
    params: int
    biases: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    activations: int
    activation_bytes: int
    stores: bool
    #: Per spatial dim; ``None`` once every output sees the whole input (after flatten, FC, global pooling).
    receptive_field: tuple[int | float, ...] | None
    jump: tuple[int | float, ...] | None
    #: Centre of the first output's field, in input pixels (Araujo et al.'s effective padding, negated).
    rf_offset: tuple[float, ...] | None
    line: int | None = None
    warnings: tuple[str, ...] = ()
    connections: int = 0
    #: Names of the nodes this layer reads (``input`` is the network input).
    inputs: tuple[str, ...] = ()
    #: Enclosing block instances, outermost first.
    groups: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def weights(self) -> int:
        """Parameters without biases (cs231n's "weights")."""
        return self.params - self.biases

    @property
    def depth(self) -> int:
        """Nesting level in the table: 0 at top level, 1 inside one block instance, …"""
        return len(self.groups)

    def to_dict(self) -> dict[str, Any]:
        """The row's part of the JSON contract."""
        return {
            "name": self.name,
            "type": self.type,
            "summary": self.summary,
            "output_shape": list(self.output_shape),
            "params": self.params,
            "biases": self.biases,
            "trainable_params": self.trainable_params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "connections": self.connections,
            "activations": self.activations,
            "activation_bytes": self.activation_bytes,
            "stores_output": self.stores,
            "receptive_field": None if self.receptive_field is None else list(self.receptive_field),
            "jump": None if self.jump is None else list(self.jump),
            "rf_offset": None if self.rf_offset is None else list(self.rf_offset),
            "warnings": list(self.warnings),
            "inputs": list(self.inputs),
            "groups": list(self.groups),
            "notes": list(self.notes),
        }


@dataclass(slots=True)
class Tally:
    """Running sums over layer rows: the one place totals and block rows are added up."""

    params: int = 0
    biases: int = 0
    trainable_params: int = 0
    buffers: int = 0
    macs: int = 0
    flops: int = 0
    connections: int = 0
    #: Stored outputs only (views, in-place and dropout rows add nothing), as the memory total counts them.
    activations: int = 0
    layers: int = 0

    def add(self, row: LayerRow) -> None:
        """Count one layer."""
        self.params += row.params
        self.biases += row.biases
        self.trainable_params += row.trainable_params
        self.buffers += row.buffers
        self.macs += row.macs
        self.flops += row.flops
        self.connections += row.connections
        self.activations += row.activations if row.stores else 0
        self.layers += 1

    def add_all(self, rows: Sequence[LayerRow]) -> None:
        """Count many layers: the same sums as :meth:`add` row by row, in the same order, each taken in one pass."""
        for name in ("params", "biases", "trainable_params", "buffers", "macs", "flops", "connections"):
            setattr(self, name, sum(map(attrgetter(name), rows), getattr(self, name)))
        stored = compress(rows, map(attrgetter("stores"), rows))
        self.activations = sum(map(attrgetter("activations"), stored), self.activations)
        self.layers += len(rows)


@dataclass(frozen=True, slots=True)
class BlockRow:
    """One block instance: sums over every layer inside it; activations count stored outputs only."""

    name: str
    block: str
    depth: int
    params: int
    biases: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    activations: int
    layers: int
    output_shape: tuple[int, ...]
    #: The receptive field of the block's output (its last layer's).
    receptive_field: tuple[int | float, ...] | None = None
    connections: int = 0

    @property
    def weights(self) -> int:
        """Parameters without biases."""
        return self.params - self.biases

    def to_dict(self) -> dict[str, Any]:
        """A block's part of the JSON contract."""
        return {
            "name": self.name, "block": self.block, "depth": self.depth, "output_shape": list(self.output_shape),
            "layers": self.layers, "params": self.params, "biases": self.biases,
            "trainable_params": self.trainable_params,
            "buffers": self.buffers, "macs": self.macs, "flops": self.flops, "connections": self.connections,
            "activations": self.activations,
            "receptive_field": None if self.receptive_field is None else list(self.receptive_field),
        }


@dataclass(frozen=True, slots=True)
class Totals:
    """Whole-network sums; activations follow cs231n: the input plus every stored layer output.

    Every sum a front end shows is here, so none of them adds up layer rows again. ``to_dict()`` is the frozen
    JSON contract: fields added for front ends (biases, stored activations) stay out of it.
    """

    params: int
    trainable_params: int
    buffers: int
    macs: int
    flops: int
    activations: int
    activation_bytes: int
    param_bytes: int
    connections: int = 0
    #: The biases among ``params``.
    biases: int = 0
    #: Stored layer outputs only (``activations`` without the input; views, in-place and dropout rows add none).
    stored_activations: int = 0

    @property
    def weights(self) -> int:
        """Parameters without biases (cs231n's "weights")."""
        return self.params - self.biases

    @property
    def input_activations(self) -> int:
        """The network input's values, the part of ``activations`` no layer stores."""
        return self.activations - self.stored_activations

    def to_dict(self) -> dict[str, int]:
        """The totals' part of the JSON contract (keys frozen: the added fields are not in it)."""
        return {
            "params": self.params,
            "trainable_params": self.trainable_params,
            "buffers": self.buffers,
            "macs": self.macs,
            "flops": self.flops,
            "activations": self.activations,
            "activation_bytes": self.activation_bytes,
            "param_bytes": self.param_bytes,
            "connections": self.connections,
        }


@dataclass(frozen=True)
class Report:
    """Everything ``cnncalc`` knows about one network at one input size, batch and dtype."""

    model: str
    input: tuple[int, ...]
    batch: int
    dtype: Dtype
    layers: tuple[LayerRow, ...]
    totals: Totals
    description: str = ""
    source: str | None = None
    file: str | None = None
    warnings: tuple[str, ...] = field(default=())
    blocks: tuple[BlockRow, ...] = field(default=())

    @property
    def numeric(self) -> bool:
        """True when the input and batch are numbers (a symbolic analysis has closed forms instead)."""
        return isinstance(self.batch, int) and all(isinstance(d, int) for d in self.input)

    @property
    def output_shape(self) -> tuple[int, ...]:
        """The last layer's output shape (per sample)."""
        return self.layers[-1].output_shape if self.layers else self.input

    def layer(self, name: str) -> LayerRow:
        """The row of the layer called ``name``."""
        for row in self.layers:
            if row.name == name:
                return row
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON contract (documented in the README)."""
        return {
            "model": self.model,
            "input": list(self.input),
            "batch": self.batch,
            "dtype": self.dtype,
            "layers": [row.to_dict() for row in self.layers],
            "totals": self.totals.to_dict(),
            "blocks": [block.to_dict() for block in self.blocks],
        }


#: One :class:`~cnncalc.engine.fields.DimField` per spatial dim; ``None`` once every output sees the whole input.
RFState = tuple["DimField", ...] | None


@dataclass(frozen=True, slots=True)
class Context:
    """What re-evaluating one node needs: each node's output shape, first-input shape and type, as the walk saw them."""

    shapes: dict[str, Shape]
    input_of: dict[str, Shape]
    types: dict[str, str]

    def needed(self, node: Node) -> dict[str, Shape]:
        """The shapes of a node's inputs and of the nodes it links to."""
        return {n: self.shapes[n] for n in (*node.inputs, *(linked for _, linked in node.links))}


@dataclass(frozen=True)
class Analysis(Report):
    """A :class:`Report` that also keeps what front ends need to look deeper, so none of them re-walks the graph.

    It *is* a Report (same fields, same ``to_dict()`` contract); ``network`` is what was analysed, ``context`` every
    node's shapes, and ``fields`` every node's receptive-field state (explain's formulas start from them).
    """

    network: Network | None = field(default=None, repr=False, compare=False)
    context: Context = field(default_factory=lambda: Context({}, {}, {}), repr=False, compare=False)
    fields: dict[str, RFState] = field(default_factory=dict, repr=False, compare=False)
