"""A one-line notation for plain CNNs, as the VGG paper and the cs231n notes write them.

``3x32x32: conv5-8 maxpool2 conv5-16 maxpool2 fc-120 fc-84 fc-10`` is parsed into the same spec dict a YAML
file would hold and validated by :func:`cnncalc.spec.format.build`, so both forms give identical reports. Parsing
never guesses: anything ambiguous or unknown is a :class:`~cnncalc.errors.NotationError` quoting the text with a
caret under the token.

Grammar
-------
``[SHAPE:] ITEM ITEM ...`` — case-insensitive; items are separated by spaces, commas, ``->`` or ``→``.
SHAPE is channels first (``3x224x224``); it may be left out when ``input_shape`` is given, which overrides it.

==========================  ===========================================================================
``conv{K}-{C}``              conv, K×K kernel, C filters, stride 1, padding 0, bias (PyTorch defaults);
                             K per dim: ``conv1x7-64``
  suffixes, any order        ``s{S}`` or ``/{S}`` stride, ``p{P}`` padding (``psame``, ``pvalid``,
                             ``psame_lower``), ``d{D}`` dilation, ``g{G}`` groups, ``nb``/``nobias``
  ``-{act}`` at the end      fused activation: ``conv3-64p1-relu`` (a type the registry marks fusable:
                             shape-keeping and parameterless; ``prelu`` is not, write ``conv3-64 prelu``)
``dwconv{K}[-{C}]``          depthwise (groups: depthwise); without C it keeps the channels
                             (``out_channels: same``): ``dwconv3s2``
``maxpool{K}``               max pooling, stride = K unless ``s``/``/`` given; ``p``, ``d``, ``ceil`` too;
                             ``pool{K}`` is the same, ``M`` (VGG's Table 1) is ``maxpool2``
``avgpool{K}``               average pooling (``s``, ``p``, ``ceil``)
``gap`` / ``gmp``            global average / max pooling (also ``globalavgpool``, ``globalmaxpool``)
``adaptive_avgpool{N}``      adaptive pooling to N (per dim ``7x7``); also ``adaptive_maxpool{N}``
``fc-{N}`` / ``fc{N}``       linear layer with N outputs that flattens its input first; ``linear-{N}``;
                             ``nb`` and ``-{act}`` as for conv
``dropout`` ``dropout0.4``   dropout (p = 0.5 by default)
any registered type name     a layer that needs no fields: ``relu``, ``tanh``, ``bn``, ``lrn``, ``flatten``,
                             ``softmax``, ``batchnorm2d``… (new registered types work as they are)
``[ ... ]xN``                the group N times; groups nest: ``[[conv3-64p1]x2 M]x2``
``ITEM xN``                  a separate ``xN`` (or ``×N``, ``*N``) repeats the item before it: ``conv3-64 x2``
``ITEM*N``                   ``*N`` may also be glued to a token: ``conv3-64p1*2``; ``]*N``, ``]×N`` too
==========================  ===========================================================================

Repetition: inside a token, ``x`` always joins per-dimension sizes (``conv3x3-64``, ``conv1x7-64p0x3``), never
a repeat count, so a token repeats only with a glued ``*N``, a separate ``xN`` or brackets. A per-dimension
stride, padding or dilation needs a kernel written per dimension with as many sizes; so ``conv3-64p1x2`` is an
error (repeat, or padding 1x2?) instead of a silent guess, as is ``conv3-64x2``.

A ``dwconv`` without C keeps its input's channels: it is written ``out_channels: same``, which the conv resolves
when the network is analysed (the notation itself never evaluates a layer). A fused ``-{act}`` must be a type the
registry marks ``fusable`` (parameterless, shape-keeping); any other layer type is its own item: ``conv3-64 prelu``.
"""

from __future__ import annotations

from typing import Any

from cnncalc.errors import NotationError, SpecError
from cnncalc.model import Network
from cnncalc.spec.format import build
from cnncalc.spec.notation.groups import _emit, _items, _shape, _tokens
from cnncalc.spec.notation.syntax import _EXAMPLE, _error, _pointer

__all__ = ["describe_grammar", "parse", "to_spec"]


def describe_grammar() -> str:
    """The grammar section of this module's docstring, for ``--help`` texts and the README."""
    doc = __doc__ or ""
    return doc[doc.index("Grammar") :].strip()


def parse(text: str, *, input_shape: tuple[int, ...] | None = None, name: str = "expression") -> Network:
    """A validated :class:`Network` from a one-line notation (see the module docstring for the grammar)."""
    data = to_spec(text, input_shape=input_shape, name=name)
    try:
        return build(data)
    except NotationError:
        raise
    except SpecError as err:  # to_spec validated every layer, so this is a limit the builder knows better
        raise NotationError(f"{err.reason}\n{_pointer(text, 0, len(text))}", hint=err.hint) from None


def to_spec(text: str, *, input_shape: tuple[int, ...] | None = None, name: str = "expression") -> dict[str, Any]:
    """The spec dict (as a YAML file would hold it) that ``text`` stands for; repeats stay ``repeat`` entries."""
    if not text.strip():
        raise NotationError(f"empty notation: expected an input shape and layers, like '{_EXAMPLE}'")
    shape, body_start = _shape(text, input_shape)
    tokens = _tokens(text, body_start)
    if not tokens:
        raise _error(text, 0, body_start, "no layers after the input shape")
    items, _ = _items(text, tokens, 0, None)
    return {"name": name, "input": list(shape), "layers": _emit(items)}
