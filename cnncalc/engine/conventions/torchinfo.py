"""torchinfo 1.8.0's ``summary(model, input_size=...)``: "Total mult-adds" and its memory lines.

Mult-adds (``torchinfo/layer_info.py`` ``LayerInfo.calculate_macs`` 225-245), per call of every leaf module, from
its own ``weight``/``bias`` parameters only:

- modules whose class name contains "Conv": ``param.numel()·N·prod(out_spatial)`` per parameter (237-240): the
  product plus one per output for the bias (for a transposed conv the weight term is an overcount).
- every other leaf with parameters: ``N·param.numel()`` (242): Linear on a flat input = product + bias; BatchNorm
  ``2·C`` per sample (its parameters), not per element; PReLU its slopes.
- parameter-free modules (activations, pooling, dropout, flatten), functionals and ``+``: 0.

Memory (``torchinfo/model_statistics.py`` 13-100; MB are 10^6 bytes, printed ``:0.2f``):

- "Input size": ``sys.getsizeof(tensor.untyped_storage())`` = the input's bytes + 64 of Python object overhead
  (``torchinfo.py`` ``get_total_memory_used`` 501-517; ``torch/storage.py`` ``__sizeof__``).
- "Forward/backward pass size": ``2 × output bytes`` of the leaf modules that own parameters (conv, linear,
  BatchNorm), every call (model_statistics.py 34-36, "x2 for gradients"); ReLU, pooling and add outputs are left out.
- "Params size": parameter bytes of leaf modules; "Estimated Total Size": input + forward/backward + params,
  rounded once (79-81).

It hooks modules, not functionals, but parameter-free layers count 0 either way: nothing to assume.
"""

from __future__ import annotations

from math import prod
from typing import TYPE_CHECKING, ClassVar

from cnncalc.engine.conventions.base import Convention, Site, Terms, Unit
from cnncalc.engine.layers.conv import Conv
from cnncalc.engine.layers.conv_transpose import ConvTranspose
from cnncalc.engine.layers.merge import Held
from cnncalc.engine.layers.norm import BatchNorm, LayerScale
from cnncalc.engine.layers.tensor import Token
from cnncalc.engine.report import DTYPE_BYTES

if TYPE_CHECKING:
    from cnncalc.engine.report import Report

#: ``sys.getsizeof`` of a torch storage: its bytes plus this (torch/storage.py ``__sizeof__``), measured with
#: torch 2.14.1 on CPython 3.11 (1×3×224×224 float32 → 602,176 = 602,112 + 64).
_STORAGE_OVERHEAD = 64


def printed_mult_adds(macs: int) -> tuple[str, str]:
    """The unit and figure of torchinfo's "Total mult-adds (G): 15.48" line (``torchinfo/model_statistics.py``
    72-74, 102-120): T from 10^12, G from 10^9, else M; a whole number printed ``:,d``, any other ``:,.2f``."""
    unit, scale = next((u, s) for u, s in (("T", 10**12), ("G", 10**9), ("M", 10**6)) if macs >= s or u == "M")
    return unit, f"{macs // scale:,d}" if macs % scale == 0 else f"{macs / scale:,.2f}"


class Torchinfo(Convention):
    """torchinfo's mult-adds and memory estimate."""

    name: ClassVar[str] = "torchinfo"
    tool: ClassVar[str] = "torchinfo 1.8.0"
    unit: ClassVar[Unit] = "macs"
    counts: ClassVar[str] = ("per leaf module with parameters: conv weights and bias × output positions (products "
                             "+ biases), other modules batch × their parameters (linear products + biases, "
                             "BatchNorm 2·C per sample); parameter-free layers zero, and so are parameters held by "
                             "a non-leaf module (layer scale, class token)")
    assumes: ClassVar[str] = "nothing: parameter-free layers count zero whether module or functional"

    def layer_terms(self, site: Site) -> Terms:
        """Weight and bias numel × output positions for convs, × batch for every other module with parameters."""
        layer = site.layer
        if isinstance(layer, Conv | ConvTranspose):
            positions = prod(site.output[1:]) * site.batch
            weight = site.weights * positions
            return {"products": site.macs, "other": weight - site.macs, "biases": site.biases * positions}
        if layer.family == "fc":
            return {"products": site.macs, "other": site.weights * site.batch - site.macs,
                    "biases": site.biases * site.batch}
        if isinstance(layer, BatchNorm):
            return {"batchnorm": site.params * site.batch}
        if isinstance(layer, LayerScale | Token | Held):
            return {}  # parameters of the enclosing module (ConvNeXt's layer scale, a class token): no leaf of theirs
        return {"activations": site.params * site.batch} if site.params else {}

    def extras(self, report: Report) -> dict[str, str]:
        """The four memory lines, as torchinfo prints them (MB = 10^6 bytes, two decimals)."""
        size = DTYPE_BYTES[report.dtype]
        input_bytes = prod(report.input) * report.batch * size + _STORAGE_OVERHEAD
        passes = 2 * size * sum(prod(row.output_shape) * report.batch for row in report.layers if row.params)
        params = report.totals.params * size
        return {
            "Input size (MB)": f"{input_bytes / 1e6:0.2f}",
            "Forward/backward pass size (MB)": f"{passes / 1e6:0.2f}",
            "Params size (MB)": f"{params / 1e6:0.2f}",
            "Estimated Total Size (MB)": f"{(input_bytes + passes + params) / 1e6:0.2f}",
        }
