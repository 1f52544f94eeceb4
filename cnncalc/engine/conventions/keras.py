"""Keras: ``model.summary()``'s parameter count and the FLOPs convention Keras users rely on.

Parameters: Keras counts every weight a layer creates, trainable or not (``Model.count_params``); its
``BatchNormalization`` creates ``gamma``, ``beta`` and the non-trainable ``moving_mean`` and ``moving_variance``
(keras/src/layers/normalization/batch_normalization.py ``build``), so "Total params" = torch's parameters + 2·C per
BatchNorm ("Non-trainable params"). torch keeps the running statistics as buffers instead.

FLOPs: Keras has no FLOPs counter of its own. The convention in use (keras-flops, the Keras answers on Stack
Overflow, papers' Keras tables) is TensorFlow's profiler, ``tf.compat.v1.profiler.profile(graph,
options=ProfileOptionBuilder.float_operation())`` on the frozen inference graph. Its per-op rules are
``tensorflow/python/profiler/internal/flops_registry.py`` plus the ``RegisterStatistics`` in ``nn_ops.py`` /
``math_ops.py``: Conv2D ``2·o·kh·kw·C_in/g`` and DepthwiseConv2dNative ``2·o·kh·kw`` (two per multiply-add),
MatMul ``2·k·o``, BiasAdd 1 per element; MaxPool and AvgPool ``kernel_area·o`` (``_pool_flops``); Mean (global
average pooling) 1 per input element (``_reduction_op_flops`` with reduce 1, finalize 1); Add/AddV2/Mul 1 per
output element (``_binary_per_element_op_flops``); Softmax 5 per element. Ops with no registered statistics count
0: FusedBatchNormV3 (inference BatchNorm), Relu, Relu6, Sigmoid, Tanh, Elu, LeakyRelu, Max (global max pooling),
ConcatV2, Reshape, resize ops. Keras' ``swish`` is ``x·sigmoid(x)``: one Mul per element.

Assumptions: the Keras model is the spec's network built from Keras layers with their defaults (BatchNormalization
center and scale on); GELU, PReLU and hard activations, which Keras builds from several small ops, are counted 0
here; a transposed convolution is counted as its products (2 per multiply-add) plus bias.
"""

from __future__ import annotations

from math import prod
from typing import ClassVar

from cnncalc.engine.conventions.base import Convention, Site, Terms, Unit, bias_adds
from cnncalc.engine.layers.activation import Activation, Softmax
from cnncalc.engine.layers.merge import Add
from cnncalc.engine.layers.norm import BatchNorm
from cnncalc.engine.layers.pool import AdaptivePool, AvgPool, MaxPool

#: Activations Keras builds from registered ops: swish/silu = x·sigmoid(x), one Mul per element.
_ACTIVATION_FLOPS = {"silu": 1, "swish": 1}


class Keras(Convention):
    """Keras' parameters and TensorFlow-profiler FLOPs."""

    name: ClassVar[str] = "keras"
    tool: ClassVar[str] = "keras 3.15.1 params, tf.profiler FLOPs"
    unit: ClassVar[Unit] = "flops"
    counts: ClassVar[str] = ("FLOPs: 2 per conv/dense multiply-add + 1 per bias; pooling kernel area per output; "
                             "global average pooling 1 per input; adds 1 per output; softmax 5 per element; "
                             "zero for BatchNorm and activations. Params include BatchNorm's moving mean and variance")
    assumes: ClassVar[str] = "the network built from Keras layers with defaults, profiled as a frozen inference graph"

    def layer_terms(self, site: Site) -> Terms:
        """TensorFlow profiler float ops of the ops a Keras layer becomes."""
        layer = site.layer
        if layer.family in ("conv", "fc"):
            return {"products": 2 * site.macs, "biases": bias_adds(site)}
        if isinstance(layer, MaxPool | AvgPool):
            window = prod(_kernel(layer, len(site.inputs[0]) - 1))
            return {"pooling": window * site.o}
        if isinstance(layer, AdaptivePool):
            return {"pooling": site.n} if layer.averages else {}
        if isinstance(layer, Activation):
            return {"activations": _ACTIVATION_FLOPS.get(layer.type, 0) * site.n}
        if isinstance(layer, Add):
            return {"residual adds": site.o * (len(site.inputs) - 1)}
        if isinstance(layer, Softmax):
            return {"softmax": 5 * site.n}
        return {}

    def params(self, site: Site) -> int:
        """BatchNorm also counts its moving mean and variance (non-trainable weights in Keras)."""
        layer = site.layer
        if isinstance(layer, BatchNorm) and layer.track_running_stats:
            return site.params + 2 * site.inputs[0][0]
        return site.params


def _kernel(layer: MaxPool | AvgPool, dims: int) -> tuple[int, ...]:
    from cnncalc.engine.dims import per_dim

    return tuple(per_dim(layer.kernel_size, dims, "kernel_size"))
