"""ptflops 0.7.5's ``get_model_complexity_info``: its default ``backend='pytorch'`` and ``backend='aten'``.

Default backend (``ptflops/pytorch_engine.py`` + ``ptflops/pytorch_ops.py``): forward hooks on modules whose exact
type is in ``MODULES_MAPPING`` (pytorch_ops.py 271-318), *plus* counting wrappers patched over ``torch.nn.functional``
(``patch_functional``, pytorch_engine.py 348-390; ``FUNCTIONAL_MAPPING`` pytorch_ops.py 423-449):

- conv: product + one per output for the bias (``conv_flops_counter_hook`` 60-92); linear: ``(in·out + out)`` per
  row (``linear_flops_counter_hook`` 35-43; ``F.linear`` is not patched, engine 349 is commented out).
- BatchNorm: ``n·(2 if affine else 1)`` (``bn_flops_counter_hook`` 51-57).
- ReLU, ELU, GELU, PReLU modules: the hook counts ``n`` (``relu_flops_counter_hook`` 30-32) **and** the module's
  ``forward`` calls the patched ``F.relu``/``F.elu``/``F.gelu``/``F.prelu``, which counts ``n`` again. ReLU6 and
  LeakyReLU: once (their forwards call the unpatched ``F.hardtanh``/``F.leaky_relu``). SiLU: once, through the
  patched ``F.silu`` (the module is not mapped). Sigmoid, Tanh, Hardswish, Hardsigmoid, SELU: 0.
- every max/avg/adaptive pool module: hook ``n`` (input numel, ``pool_flops_counter_hook`` 46-48) and the patched
  ``F.*pool*`` its forward calls, ``n`` again.
- Upsample: hook ``prod(output[0].shape)`` (one sample, 21-27) plus the patched ``F.interpolate`` (``N·o/N``…, 351-382).
- Softmax module: not mapped, but ``F.softmax`` is patched: ``n``.
- residual ``a + b`` / ``a += b``: 0 (operators are not patched); only ``torch.add``/``Tensor.add`` count.

Assumption: every layer is an ``nn.Module`` call and residual adds are written ``+``/``+=``; a layer the torch code
calls as a patched ``F.relu(x)``/``F.max_pool2d(x)`` counts once (a ``function`` call), ``torch.add``/``x.add(y)``
counts ``o``; ``torch.relu``, ``x.relu()``, ``F.leaky_relu``, ``F.hardtanh``, ``a + b`` count 0 (``operator``).

The aten backend (``ptflops/aten_engine.py`` 80-146, ``ptflops/aten_ops.py``) counts only ``aten.convolution``
(product + bias, ``conv_flop_count`` 71-95) and ``aten.mm``/``addmm`` (product + bias, ``addmm_flop`` 36-54):
no BatchNorm, pooling or activations, whichever way the code calls them.
"""

from __future__ import annotations

from typing import ClassVar

from cnncalc.engine.conventions.base import Convention, Site, Terms, Unit, bias_adds
from cnncalc.engine.layers.activation import ELU, GELU, Activation, LeakyReLU, PReLU, Softmax
from cnncalc.engine.layers.merge import Add
from cnncalc.engine.layers.norm import BatchNorm, GroupNorm, InstanceNorm, LayerNorm
from cnncalc.engine.layers.upsample import Upsample

#: Activation modules whose hook counts ``n`` and whose forward calls a patched functional that counts ``n`` again.
_TWICE = (ELU, GELU, PReLU)
#: ``nn.ReLU`` → hook + ``F.relu``; ``nn.ReLU6`` → hook only; ``nn.SiLU`` → ``F.silu`` only (by exact type name of
#: the registered activation, the torch module it stands for).
_ACTIVATION_CALLS = {"relu": 2, "relu6": 1, "silu": 1, "swish": 1}
#: The ``torch.nn.functional`` functions ptflops patches (``FUNCTIONAL_MAPPING``, pytorch_ops.py 423-449; ``F.linear``
#: is left out, pytorch_engine.py 349), and the ``torch``/``Tensor`` ops it patches that a CNN spec can hold
#: (``TENSOR_OPS_MAPPING`` 452-468: ``torch.add``, ``Tensor.add``, ``torch.mul``, ``Tensor.mul``). A traced call of
#: one of these is a ``function`` call; any other call no tool hooks (an ``operator``).
PATCHED_FUNCTIONS = (
    "relu", "prelu", "elu", "relu6", "gelu", "silu", "softmax", "upsample", "interpolate",
    *(f"{kind}_pool{n}d" for kind in ("avg", "max", "adaptive_avg", "adaptive_max") for n in (1, 2, 3)),
)
PATCHED_TENSOR_OPS = ("add", "mul")
#: Activations whose ``F.*`` function ptflops patches (``patch_functional``): called directly, they count once.
_PATCHED = {"relu", "relu6", "silu", "swish"}


class Ptflops(Convention):
    """ptflops' default (pytorch) backend."""

    name: ClassVar[str] = "ptflops"
    tool: ClassVar[str] = "ptflops 0.7.5 (backend='pytorch')"
    unit: ClassVar[Unit] = "macs"
    counts: ClassVar[str] = ("products + biases; BatchNorm 2 per element; nn.LayerNorm 1, GroupNorm and InstanceNorm "
                             "1 (2 affine); activations and pools 1 per input "
                             "element, counted twice for nn.ReLU/ELU/GELU and every pool module (the hook and the "
                             "patched F.* it calls); residual a + b zero")
    assumes: ClassVar[str] = ("every layer is an nn.Module call and residual adds are written + or +=; F.relu/"
                              "F.*pool* called directly count once, torch.add counts")

    def layer_terms(self, site: Site) -> Terms:
        """Module hook plus the patched functional its forward calls."""
        layer = site.layer
        if layer.family in ("conv", "fc"):
            return {"products": site.macs, "biases": bias_adds(site)}
        if isinstance(layer, BatchNorm):
            return {"batchnorm": site.n * (2 if layer.affine else 1)}
        if site.call == "operator":
            return {}  # nothing patched or hooked sees it
        if isinstance(layer, LayerNorm | GroupNorm | InstanceNorm):
            # bn_flops_counter_hook on nn.LayerNorm/GroupNorm/InstanceNorm*: n, doubled when the module has a true
            # ``affine`` (LayerNorm has none); by exact type, so torchvision's LayerNorm2d and F.layer_norm count 0
            if site.call != "module" or layer.type == "layernorm2d":
                return {}
            return {"batchnorm": site.n * (2 if getattr(layer, "affine", False) else 1)}
        if layer.family == "pool":
            calls = 2 if site.call == "module" else 1
            return {"pooling": site.n, "double counts": site.n * (calls - 1)}
        if isinstance(layer, Activation | LeakyReLU | ELU | GELU | PReLU):
            if site.call == "function":  # F.relu, F.elu, F.gelu, F.prelu, F.silu are patched; F.leaky_relu is not
                calls = 1 if isinstance(layer, _TWICE) or getattr(layer, "type", "") in _PATCHED else 0
            elif isinstance(layer, Activation):
                calls = _ACTIVATION_CALLS.get(layer.type, 0)
            else:
                calls = 2 if isinstance(layer, _TWICE) else 1
            return {"activations": site.n if calls else 0, "double counts": site.n * max(calls - 1, 0)}
        if isinstance(layer, Softmax):
            return {"softmax": site.n}  # nn.Softmax is not mapped, but its forward calls the patched F.softmax
        if isinstance(layer, Upsample):
            # the hook reads one sample's output (prod(output[0].shape)), F.interpolate the whole batch
            once = site.o // site.batch
            return {"upsampling": site.o, "double counts": once if site.call == "module" else 0}
        if isinstance(layer, Add) and site.call == "function":
            return {"residual adds": site.o * (len(site.inputs) - 1)}  # torch.add(a, b) / a.add(b)
        return {}


class PtflopsAten(Convention):
    """ptflops' ``backend='aten'``: convolutions and matrix products with their biases, nothing else."""

    name: ClassVar[str] = "ptflops-aten"
    tool: ClassVar[str] = "ptflops 0.7.5 (backend='aten')"
    unit: ClassVar[Unit] = "macs"
    counts: ClassVar[str] = "conv and linear products + biases (aten.convolution, aten.addmm/mm); nothing else"
    assumes: ClassVar[str] = "nothing: it sees ATen ops, so F.* and module calls count alike"

    def layer_terms(self, site: Site) -> Terms:
        """Products and biases of convolutions and linear layers."""
        if site.layer.family in ("conv", "fc"):
            return {"products": site.macs, "biases": bias_adds(site)}
        return {}
