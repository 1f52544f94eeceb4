"""thop 0.1.1-2209072238's ``profile(model, inputs=(x,))``: forward hooks on modules of registered exact types.

Rules, from ``thop/profile.py`` (``register_hooks`` 21-66) and ``thop/vision/basic_hooks.py`` / ``calc_func.py``:

- conv (and transposed): ``o·(C_in // groups)·prod(k)`` with ``o`` the *output* numel, no bias (``count_convNd``
  22-42 → ``calculate_conv2d_flops`` 28-34) — the product for a plain conv, an overcount for a transposed one.
- linear: ``in_features·o``, no bias (``count_linear`` 140-147 → ``calculate_linear`` 90-91).
- BatchNorm: ``2n``, doubled again when affine (``count_normalization`` 60-69 → ``calculate_norm`` 43-45).
- AvgPool: ``o`` (``count_avgpool`` 106-111); AdaptiveAvgPool: ``int((prod(in_sp / out_sp) + 1)·o)`` in float64
  (``count_adap_avgpool`` 114-121 → ``calculate_adaptive_avg`` 69-72); max pools, ReLU, ReLU6, Dropout: zero ops.
- LeakyReLU 0; PReLU ``n``; Softmax ``(numel / nf)·(3·nf − 1)`` along its dim (``count_softmax`` 98-103).
- Upsample: ``o`` × {nearest 1, linear 5, bilinear 11, bicubic 259, trilinear 31} (``calculate_upsample`` 75-87).
- SiLU, GELU, ELU, Sigmoid, Tanh, Hardswish, Hardsigmoid: not registered, 0. Functionals and ``+`` have no hook: 0.

Assumption: pooling layers are ``nn.Module`` calls; one the torch code calls as ``F.avg_pool2d``/
``F.adaptive_avg_pool2d`` counts 0 (a ``function`` or ``operator`` call).
"""

from __future__ import annotations

from math import prod
from typing import ClassVar

from cnncalc.engine.conventions.base import Convention, Site, Terms, Unit, has_torch_module
from cnncalc.engine.layers.activation import PReLU, Softmax
from cnncalc.engine.layers.conv_transpose import ConvTranspose
from cnncalc.engine.layers.norm import BatchNorm, InstanceNorm, LayerNorm
from cnncalc.engine.layers.pool import AdaptivePool, AvgPool
from cnncalc.engine.layers.upsample import Upsample

_UPSAMPLE = {"nearest": 1, "linear": 5, "bilinear": 11, "bicubic": 224 + 35, "trilinear": 13 * 2 + 5}


class Thop(Convention):
    """thop's count."""

    name: ClassVar[str] = "thop"
    tool: ClassVar[str] = "thop 0.1.1-2209072238"
    unit: ClassVar[Unit] = "macs"
    counts: ClassVar[str] = ("conv/linear products without biases; BatchNorm, nn.LayerNorm, InstanceNorm 4 per "
                             "element (2, doubled when affine); AvgPool 1 per output; AdaptiveAvgPool (window + 1) "
                             "per output; zero for ReLU/ReLU6, max pooling, residual adds and unregistered modules "
                             "(SiLU, Sigmoid, GroupNorm, ...), whose parameters it leaves out too")
    assumes: ClassVar[str] = "pooling layers are nn.Module calls (F.avg_pool2d / F.adaptive_avg_pool2d count 0)"

    def params(self, site: Site) -> int:
        """thop's parameter total sums the modules it has a hook for (by exact type: convolutions, linear, batch,
        layer and instance norm, PReLU); any other module's, and a module's own parameters (ConvNeXt's layer scale),
        are left out (``dfs_count`` recurses into children instead)."""
        layer = site.layer
        hooked = (layer.family in ("conv", "fc") and has_torch_module(layer)) or isinstance(
            layer, BatchNorm | InstanceNorm | PReLU) or (isinstance(layer, LayerNorm) and layer.type != "layernorm2d")
        return site.params if hooked else 0

    def layer_terms(self, site: Site) -> Terms:
        """Exact-type module hooks; functionals count nothing."""
        layer = site.layer
        if isinstance(layer, ConvTranspose):
            return {"products": site.o * site.weights // layer.out_channels}  # o·(C_in/g)·k: an overcount
        if layer.family in ("conv", "fc"):
            return {"products": site.macs}
        if isinstance(layer, BatchNorm):
            return {"batchnorm": site.n * 2 * (2 if layer.affine else 1)}
        if site.call != "module":
            return {}
        if isinstance(layer, LayerNorm | InstanceNorm) and layer.type != "layernorm2d":
            # count_normalization (exact nn.LayerNorm / InstanceNorm*): 2n, doubled with affine or elementwise_affine
            affine = layer.elementwise_affine if isinstance(layer, LayerNorm) else layer.affine
            return {"batchnorm": site.n * 2 * (2 if affine else 1)}
        if isinstance(layer, AvgPool):
            return {"pooling": site.o}
        if isinstance(layer, AdaptivePool) and layer.averages:
            kernel = prod(float(i) / float(o) for i, o in zip(site.inputs[0][1:], site.output[1:], strict=True))
            return {"pooling": int((kernel + 1) * site.o)}
        if isinstance(layer, PReLU):
            return {"activations": site.n}
        if isinstance(layer, Softmax):
            full = (site.batch, *site.inputs[0])
            nf = full[layer.dim]
            return {"softmax": site.n // nf * (3 * nf - 1)}
        if isinstance(layer, Upsample):
            mode = layer.resolved_mode
            return {"upsampling": site.o * _UPSAMPLE[mode]}
        return {}
