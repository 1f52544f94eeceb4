"""What a counting convention sees of one layer, what it returns, and the base every tool's rules extend.

A convention maps each layer (a :class:`Site`: the layer, its input and output shapes, cnncalc's own row) to
:data:`Terms`: the numbers the tool adds up, split by *why* they are there (the conv/linear products, biases,
BatchNorm, pooling, activations, residual adds, a tool's double counts). Summing the terms gives the tool's total;
subtracting cnncalc's terms says which terms make the difference. Rules decide by the layer's class (and its
registry ``family``), never by the spelling of its type name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from math import prod
from typing import TYPE_CHECKING, ClassVar, Literal

from cnncalc.engine.layers import REGISTRY
from cnncalc.engine.layers.base import Activated, Layer
from cnncalc.engine.layers.conv import Conv
from cnncalc.engine.layers.conv_transpose import ConvTranspose
from cnncalc.engine.layers.linear import Linear
from cnncalc.model import Shape

if TYPE_CHECKING:
    from cnncalc.engine.report import LayerRow, Report

#: Why a number is in a tool's total, in the order tables list them.
TERMS: tuple[str, ...] = (
    "products", "biases", "batchnorm", "pooling", "activations", "residual adds", "upsampling", "softmax",
    "double counts", "other",
)
Terms = dict[str, int]
Unit = Literal["macs", "flops"]
#: How the torch code calls a layer, which decides what hook-based tools see: an ``nn.Module`` (the default a spec
#: assumes); a ``function`` tools patch or trace (``F.relu``, ``F.max_pool2d``, ``torch.add``, ``x.add(y)``); or an
#: ``operator`` nothing hooks (``a + b``, ``torch.relu``, ``x.relu()``, ``F.hardtanh``).
Call = Literal["module", "function", "operator"]


@dataclass(frozen=True, slots=True)
class Site:
    """One layer as a counting rule sees it; ``n``/``o`` are input/output element counts for the whole batch."""

    layer: Layer
    inputs: tuple[Shape, ...]
    output: Shape
    batch: int
    #: cnncalc's multiply-adds and FLOPs for this layer (whole batch), and its bias count (per sample).
    macs: int
    flops: int
    biases: int
    params: int
    buffers: int
    #: How the torch code calls this layer (see :data:`Call`).
    call: Call = "module"

    @property
    def n(self) -> int:
        """Input elements, whole batch (the first input of a merge)."""
        return prod(self.inputs[0]) * self.batch

    @property
    def o(self) -> int:
        """Output elements, whole batch."""
        return prod(self.output) * self.batch

    @property
    def weights(self) -> int:
        """Parameters without biases."""
        return self.params - self.biases

    @classmethod
    def of(cls, row: LayerRow, layer: Layer, inputs: tuple[Shape, ...], batch: int, call: Call) -> Site:
        """The site of one report row."""
        return cls(layer, inputs, row.output_shape, batch, row.macs, row.flops, row.biases, row.params, row.buffers,
                   call)

    def fused(self) -> Site | None:
        """The activation a conv/linear row fuses (``activation: relu``), as a site of its own (a torch module)."""
        if not isinstance(self.layer, Activated) or self.layer.activation is None:
            return None
        act = REGISTRY[self.layer.activation].model_validate({"type": self.layer.activation})
        return Site(act, (self.output,), self.output, self.batch, 0, 0, 0, 0, 0, "module")


def has_torch_module(layer: Layer) -> bool:
    """False for layers the tools cannot see as one torch module: LeNet's trainable subsampling, RBF units, maxout,
    LRN (the functional decomposes into pooling and arithmetic) and sparse connection tables."""
    from cnncalc.engine.layers.activation import Maxout
    from cnncalc.engine.layers.linear import RBF
    from cnncalc.engine.layers.norm import LocalResponseNorm
    from cnncalc.engine.layers.pool import Subsample

    if isinstance(layer, Conv) and layer.connection_table is not None:
        return False
    return not isinstance(layer, Subsample | RBF | Maxout | LocalResponseNorm)


def bias_adds(site: Site) -> int:
    """One addition per output element of a conv or linear layer with a bias (torch adds it to every output)."""
    if not isinstance(site.layer, Conv | ConvTranspose | Linear) or site.biases == 0:
        return 0
    return site.o


def add(into: Terms, more: Mapping[str, int]) -> Terms:
    """Sum terms into ``into`` (zeros are kept out so tables list only what a tool counts)."""
    for key, value in more.items():
        if value:
            into[key] = into.get(key, 0) + value
    return into


class Convention:
    """A tool's counting rules. Subclasses set the ClassVars and implement :meth:`layer_terms`."""

    name: ClassVar[str] = ""
    #: The tool and the version whose source the rules were read from.
    tool: ClassVar[str] = ""
    #: What the number is (``macs`` or ``flops``) and what it counts, in one sentence each, for tables and docs.
    unit: ClassVar[Unit] = "macs"
    counts: ClassVar[str] = ""
    #: What the spec cannot know and the rules assume (functional vs module calls, ...).
    assumes: ClassVar[str] = ""

    def layer_terms(self, site: Site) -> Terms:
        """The tool's count for one layer, split into terms (whole batch)."""
        raise NotImplementedError

    def terms(self, site: Site) -> Terms:
        """The layer's terms plus those of an activation fused into it (torch builds that as a separate module).

        A layer no torch module implements keeps cnncalc's count (MACs, or FLOPs for a FLOPs convention) as
        ``other``: no tool has a rule for it.
        """
        if not has_torch_module(site.layer):
            return add({}, {"other": site.flops if self.unit == "flops" else site.macs})
        out = add({}, self.layer_terms(site))
        act = site.fused()
        if act is not None:
            add(out, self.layer_terms(act))
        return out

    def params(self, site: Site) -> int:
        """The layer's parameters as the tool reports them (torch tools: ``sum(p.numel())``)."""
        return site.params

    def extras(self, report: Report) -> dict[str, str]:
        """Other figures the tool prints (torchinfo's memory lines), as it prints them."""
        return {}
