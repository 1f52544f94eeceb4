"""fvcore 0.1.5.post20221221's ``FlopCountAnalysis(model, x).total()``: one per multiply-add, traced ATen ops.

Rules, from ``fvcore/nn/flop_count.py`` and ``fvcore/nn/jit_handles.py`` at that version:

- conv (any groups, transposed too): ``N·prod(w.shape)·prod(out_spatial)`` — the product, "addition and bias is
  ignored" (``conv_flop_count``, jit_handles.py 127-151); linear ``prod(input.shape)·out_features``, no bias
  (``linear_flop_jit`` 99-110).
- eval BatchNorm: ``n·(2 if affine else 1)`` (``batchnorm_flop_jit`` 251-258); ``aten::layer_norm``,
  ``group_norm`` and ``instance_norm``: ``n·(5 if affine else 4)`` (``norm_flop_counter``, 230-248), whether called
  as a module or as ``F.layer_norm`` (torchvision's LayerNorm2d too).
- ``aten::adaptive_avg_pool2d``: its input numel (``elementwise_flop_counter(1, 0)``, flop_count.py 42); only the
  2-D op has a handle. ``upsample_nearest2d`` ``o``, ``upsample_bilinear2d`` ``4·o`` (flop_count.py 40-41).
- zero: max/avg pooling, every activation (``aten::relu`` is in ``_IGNORED_OPS``, jit_analysis.py 65-66; the rest
  have no handle and are listed as unsupported), ``add``/``add_``/``mul``, softmax, dropout, flatten, cat.

It traces ATen ops, so functional and module calls count alike; a global average pool written ``x.mean([2, 3])``
(an ``operator`` call) is ``aten::mean``, which has no handle: 0.
"""

from __future__ import annotations

from typing import ClassVar

from cnncalc.engine.conventions.base import Convention, Site, Terms, Unit
from cnncalc.engine.layers.norm import BatchNorm, GroupNorm, InstanceNorm, LayerNorm
from cnncalc.engine.layers.pool import AdaptivePool
from cnncalc.engine.layers.upsample import Upsample


class Fvcore(Convention):
    """fvcore's count: products, BatchNorm and the 2-D adaptive average pool, nothing else."""

    name: ClassVar[str] = "fvcore"
    tool: ClassVar[str] = "fvcore 0.1.5.post20221221"
    unit: ClassVar[Unit] = "macs"
    counts: ClassVar[str] = ("conv/linear products without biases; eval BatchNorm 2 per element (1 without affine), "
                             "layer/group/instance norm 5 (4 without affine); "
                             "adaptive_avg_pool2d 1 per input element; upsampling (nearest 1, bilinear 4 per "
                             "output); zero for max/avg pooling, activations, residual adds, softmax")
    assumes: ClassVar[str] = "nothing: it traces ATen ops, so F.* and module calls count alike"

    def layer_terms(self, site: Site) -> Terms:
        """Products; BN 2n; adaptive average pool n (2-D only); upsample o or 4o (2-D only)."""
        layer = site.layer
        if layer.family in ("conv", "fc"):
            return {"products": site.macs}
        if isinstance(layer, BatchNorm):
            return {"batchnorm": site.n * (2 if layer.affine else 1)}
        if isinstance(layer, LayerNorm | GroupNorm | InstanceNorm):  # norm_flop_counter: "5 is just a rough estimate"
            affine = layer.elementwise_affine if isinstance(layer, LayerNorm) else layer.affine
            return {"batchnorm": site.n * (5 if affine else 4)}
        two_d = len(site.inputs[0]) == 3
        if isinstance(layer, AdaptivePool) and layer.averages and two_d and site.call != "operator":
            return {"pooling": site.n}  # x.mean([2, 3]) is aten::mean: no handle
        if isinstance(layer, Upsample) and two_d:
            mode = layer.resolved_mode
            return {"upsampling": {"nearest": 1, "bilinear": 4}.get(mode, 0) * site.o}
        return {}
