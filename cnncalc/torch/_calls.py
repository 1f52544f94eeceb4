"""The torch.fx walk's function and method readers: indexing (pieces, crops, channel slices) and the functional
forms of the layers (``F.relu``, ``F.max_pool2d``, ``F.layer_norm``…), each returning a spec entry.

:class:`Calls` extends :class:`cnncalc.torch._held.Held` and is a mixin of :class:`cnncalc.torch._walk.Walk`.
"""

from __future__ import annotations

from typing import Any

from cnncalc.engine.layers import layer_classes, reshape
from cnncalc.torch._held import Held
from cnncalc.torch._ops import shape_of
from cnncalc.torch.imports import IMPORTS, Shape, as_flatten, pair, softmax_dim

#: Functions and tensor methods of the activation classes (``F.relu``, ``torch.sigmoid``, ``x.tanh_()``): each
#: imports as the type of its own name.
_ACTIVATIONS = frozenset(name for cls in layer_classes() if cls.family in ("act", "softmax")
                         for name in IMPORTS[cls].functions)
#: Tensor methods that return their input's values unchanged (for shapes and counts).
_PASS_THROUGH = {"contiguous", "clone", "detach", "float", "double", "half", "bfloat16", "to", "type_as",
                 "requires_grad_", "cpu", "cuda"}


class Calls(Held):
    """Function, method and indexing readers."""

    def getitem(self, node: Any, source: Any) -> bool:
        """``pool(x)[0]`` and ``[1]`` (values and indices), or ``x[:, :, a:b, c:d]`` as a crop."""
        base, index = node.args[0], node.args[1]
        if base in self.moved:
            return self.unmove(node, base, self.value(index))
        if base in self.splits and isinstance(index, int):
            entry = {**self.splits[base], "index": index}
            self.emit(node, entry, [base])
            return True
        if isinstance(self.values.get(base), tuple):
            if index == 0 and base in self.refs:
                return self.alias(node, base)
            if index == 1 and base in self.indices:
                self.indices[node] = self.indices[base]
                return True
            return False
        if source is None:
            return False
        index = self.value(index)
        x, y = shape_of(self.values[base]), shape_of(self.values[node])
        if not isinstance(index, tuple):
            index = (index,)
        if None in index:  # x[:, :, None]: new dims of size 1, and nothing else taken: a reshape
            if any(i is not None and i is not Ellipsis and i != slice(None) for i in index) or y[:1] != x[:1]:
                return False
            self.emit(node, {"type": "reshape", "shape": list(y[1:])}, [source])
            return True
        if Ellipsis in index:
            at = index.index(Ellipsis)
            index = (*index[:at], *[slice(None)] * (len(x) - len(index) + 1), *index[at + 1:])
        index = (*index, *[slice(None)] * (len(x) - len(index)))
        if len(index) != len(x) or any(not isinstance(s, slice) for s in index):
            return self.index(node, source, index, x) if len(index) == len(x) else False
        bounds = [s.indices(w) for s, w in zip(index, x, strict=True)]
        spatial_whole = all(b[:2] == (0, w) for b, w in zip(bounds[2:], x[2:], strict=True))
        if bounds[0][:2] == (0, x[0]) and bounds[1][:2] != (0, x[1]) and bounds[1][2] == 1 and spatial_whole \
                and len(y) == len(x) and bounds[1][0] < bounds[1][1]:
            start, stop, _ = bounds[1]  # x[:, a:b]: a channel slice, the middle piece of a split
            sections = [v for v in (start, stop - start, x[1] - stop) if v]
            self.emit(node, {"type": "split", "split_size": sections, "index": 1 if start else 0}, [source])
            return True
        whole = all(b[:2] == (0, w) for b, w in zip(bounds[:2], x[:2], strict=True))
        if not whole or any(step != 1 for _, _, step in bounds):
            return self.index(node, source, index, x)  # strided or channel-and-position slices
        before = [start for start, _, _ in bounds[2:]]
        after = [w - max(stop, start) for (start, stop, _), w in zip(bounds[2:], x[2:], strict=True)]
        if not any(before) and not any(after):
            return self.alias(node, source)
        if len(y) != len(x):
            return False
        self.emit(node, {"type": "crop", "crop": {"before": before, "after": after}}, [source])
        return True

    def size_like(self, node: Any, y: Shape, entry: Any) -> Any:
        """An upsample ``entry`` with ``size_like: t`` for ``F.interpolate(…, size=t.shape[-2:])`` (also
        ``t.shape[2:]``, ``t.size()[2:]``), so the spec is right at every input size; any other entry unchanged."""
        if isinstance(entry, dict) and entry.get("type") == "upsample" and (like := self._size_source(node, y)):
            del entry["size"]
            entry["size_like"] = like
        return entry

    def _size_source(self, node: Any, y: Shape) -> str | None:
        import operator

        size = node.kwargs.get("size", node.args[1] if len(node.args) > 1 else None)
        if getattr(size, "target", None) is not operator.getitem or len(size.args) != 2:
            return None
        dims, cut = size.args
        whole, op, target = getattr(dims, "args", ())[:1], getattr(dims, "op", None), getattr(dims, "target", None)
        is_shape = (op == "call_function" and target is getattr and dims.args[1:] == ("shape",)) or (
            op == "call_method" and target == "size" and len(dims.args) == 1 and not dims.kwargs)
        if not is_shape or not whole or whole[0] not in self.refs or not isinstance(cut, slice):
            return None
        source = shape_of(self.values[whole[0]])
        if len(source) != len(y) or tuple(range(len(y)))[cut] != tuple(range(2, len(y))):
            return None  # only the spatial dims, all of them
        return self.refs[whole[0]]

    def function(self, name: str, x: Shape, y: Shape, args: list[Any], kwargs: dict[str, Any]) -> Any:
        """A spec entry (or two) for a functional call or tensor method on ``x`` giving ``y``; None if unknown."""
        kwargs = {k: v for k, v in kwargs.items() if k not in ("_stacklevel", "dtype")}
        base = name.rstrip("_")
        if base in _ACTIVATIONS:
            kind = base
            entry: dict[str, Any] = {"type": kind}
            if kind in ("softmax", "log_softmax"):
                entry["dim"] = softmax_dim(self.bind(kind, args, kwargs).get("dim"), len(x))
            elif kind in ("leaky_relu", "elu"):
                bound = self.bind(kind, args, kwargs)
                key = "negative_slope" if kind == "leaky_relu" else "alpha"
                if key in bound:
                    entry[key] = float(bound[key])
            elif kind == "gelu" and kwargs.get("approximate", "none") != "none":
                entry["approximate"] = kwargs["approximate"]
            if name.endswith("_") or kwargs.get("inplace") is True:
                entry["inplace"] = True
            return entry
        if base in ("squeeze", "unsqueeze") and y[:1] == x[:1]:
            return {"type": "identity"} if y == x else {"type": "reshape", "shape": list(y[1:])}
        if base in IMPORTS[reshape.Flatten].functions or base == "unflatten":
            if base == "flatten" and len(y) == len(x):
                return None if y != x else {"type": "identity"}
            if y == x:
                return {"type": "identity"}
            return as_flatten(x, y) or ({"type": "reshape", "shape": list(y[1:])} if y[0] == x[0] else None)
        if (newer := self.newer(base, args, kwargs)) is not None:
            return newer
        if base in IMPORTS[reshape.Dropout].functions:
            return {"type": "dropout", "p": float(self.bind("dropout", args, kwargs).get("p", 0.5))}
        for pool in ("max_pool", "avg_pool"):
            if base.startswith(pool) and base[-2:] in ("1d", "2d", "3d"):
                bound = self.bind(pool, args, kwargs)
                entry = {"type": pool.replace("_", "") + base[-2:], "kernel_size": pair(bound["kernel_size"]),
                         "stride": pair(bound.get("stride") or bound["kernel_size"]),
                         "padding": pair(bound.get("padding", 0)), "ceil_mode": bool(bound.get("ceil_mode", False))}
                if pool == "max_pool":
                    entry["dilation"] = pair(bound.get("dilation", 1))
                else:
                    entry["count_include_pad"] = bool(bound.get("count_include_pad", True))
                return entry
        if base.startswith("adaptive_") and base[-2:] in ("1d", "2d", "3d"):
            size = self.bind("adaptive", args, kwargs)["output_size"]
            kind = "avg" if "avg" in base else "max"
            return {"type": f"adaptive_{kind}pool{base[-2:]}",
                    "output_size": list(size) if isinstance(size, tuple | list) else size}
        if base in ("interpolate", "upsample"):
            bound = self.bind("interpolate", args, kwargs)
            mode = bound.get("mode", "nearest")
            if mode not in ("nearest", "linear", "bilinear", "bicubic", "trilinear"):
                return None
            entry = {"type": "upsample", "mode": mode, "size": list(y[2:])}  # sizes as torch computed them
            if bound.get("align_corners") is not None:
                entry["align_corners"] = bool(bound["align_corners"])
            return entry
        if base == "pad":
            return self.pad(x, self.bind("pad", args, kwargs))
        if base in ("pixel_shuffle", "pixel_unshuffle", "channel_shuffle"):
            (key, value), = self.bind(base, args, kwargs).items()
            return {"type": base, key: int(value)}
        if base == "mean":
            bound = self.bind("mean", args, kwargs)
            dims = bound.get("dim")
            dims = [dims] if isinstance(dims, int) else list(dims or [])
            spatial = set(range(2, len(x)))
            if not spatial or {d % len(x) for d in dims} != spatial:
                return None  # only the global average over every spatial dim has a layer
            average: dict[str, Any] = {"type": "global_avgpool"}
            return average if bound.get("keepdim") else [average, {"type": "flatten"}]
        return None

    def newer(self, base: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any] | None:
        """Functions of the layers for today's CNNs: norms without weights, Lp pooling, stochastic depth."""
        if base in ("layer_norm", "group_norm", "instance_norm"):  # without weights (with them: with_constants)
            if base == "layer_norm":
                shape = [int(v) for v in (args[0] if args else kwargs["normalized_shape"])]
                return {"type": "layernorm", "normalized_shape": shape if len(shape) > 1 else shape[0],
                        "elementwise_affine": False}
            if base == "group_norm":
                return {"type": "groupnorm", "num_groups": int(args[0] if args else kwargs["num_groups"]),
                        "affine": False}
            return {"type": "instancenorm"}
        if base == "normalize":
            bound = dict(zip(("p", "dim", "eps"), args, strict=False)) | kwargs
            return {"type": "normalize", "p": float(bound.get("p", 2.0)), "dim": int(bound.get("dim", 1)),
                    "eps": float(bound.get("eps", 1e-12))}
        if base.startswith("lp_pool") and base[-2:] in ("1d", "2d", "3d"):
            bound = dict(zip(("norm_type", "kernel_size", "stride", "ceil_mode"), args, strict=False)) | kwargs
            return {"type": f"lppool{base[-2:]}", "norm_type": float(bound["norm_type"]),
                    "kernel_size": pair(bound["kernel_size"]),
                    "stride": pair(bound.get("stride") or bound["kernel_size"]),
                    "ceil_mode": bool(bound.get("ceil_mode", False))}
        if base in IMPORTS[reshape.StochasticDepth].functions:
            p = args[0] if args else kwargs.get("p", kwargs.get("drop_prob", 0.0))
            mode = args[1] if len(args) > 1 and isinstance(args[1], str) else kwargs.get("mode", "row")
            return {"type": "stochastic_depth", "p": float(p), "mode": mode if mode in ("row", "batch") else "row"}
        return None
