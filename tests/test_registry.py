"""The layer registry is complete: every layer class has its role, a torch builder and an import mapping.

These run without torch (no torch marker): the torch side of the registry (``cnncalc.torch.build.BUILDERS`` and
``cnncalc.torch.imports.IMPORTS``) imports without torch, so a new layer type that misses one of them fails here on
any machine, not only where torch is installed. Each check is shown to name a class that lacks what it checks.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any, ClassVar, Literal

import pytest
from pydantic import ValidationError

from cnncalc.engine.layers import REGISTRY, layer_classes
from cnncalc.engine.layers.base import Evaluation, Layer
from cnncalc.engine.layers.registry import type_names
from cnncalc.errors import CnncalcError, NotationError, SpecError
from cnncalc.model import Shape
from cnncalc.torch.build import BUILDERS
from cnncalc.torch.imports import IMPORTS

#: The families front ends know (CONTRIBUTING, the homework checker's row kinds).
FAMILIES = {"conv", "pool", "fc", "norm", "act", "softmax", "dropout", "flatten", "identity", "reshape", "upsample",
            "merge", "attention", "maxout", "opaque"}


def role_problems(cls: type[Layer]) -> list[str]:
    """What is wrong with a class's roles: a family front ends know, and ``fusable`` only where it can be."""
    problems = []
    if cls.family not in FAMILIES:
        problems.append(f"family {cls.family!r} is not one of {sorted(FAMILIES)}")
    if cls.fusable:
        if not cls.quiet:
            problems.append("fusable but not quiet (a fused activation has no table row of its own)")
        for name in type_names(cls):
            try:
                ev = cls.model_validate({"type": name}).evaluate((4, 5, 6))
            except (ValidationError, CnncalcError) as err:
                problems.append(f"fusable, but '{name}' alone is not a layer on 4x5x6 ({type(err).__name__})")
                continue
            if ev.shape != (4, 5, 6) or ev.params or ev.buffers:
                problems.append(f"fusable, but '{name}' changes the shape or has parameters")
    return problems


def torch_problems(cls: type[Layer]) -> list[str]:
    """What the torch side lacks for a class: a builder, and an import mapping (or the reason it has none)."""
    problems = []
    if cls not in BUILDERS:
        problems.append("no torch builder in cnncalc/torch/build.py BUILDERS")
    imp = IMPORTS.get(cls)
    if imp is None:
        problems.append("no import mapping in cnncalc/torch/imports.py IMPORTS")
    elif not (imp.modules or imp.functions or imp.none):
        problems.append("an empty import mapping: give torch modules, functions, or the reason there are none")
    elif imp.none and (imp.modules or imp.functions):
        problems.append("an import mapping with both mappings and a reason for having none")
    return problems


def missing(check: Any) -> dict[str, list[str]]:
    """Every registered class with problems, by class name."""
    return {cls.__name__: found for cls in layer_classes() if (found := check(cls))}


def test_every_layer_class_has_a_role() -> None:
    assert missing(role_problems) == {}


def test_every_layer_class_has_a_torch_builder_and_an_import_mapping() -> None:
    assert missing(torch_problems) == {}
    # Nothing stale: the torch side knows only registered classes.
    assert set(BUILDERS) <= set(layer_classes()) and set(IMPORTS) <= set(layer_classes())


class Dummy(Layer):
    """A layer class registered by the test below without any role, builder or import mapping."""

    type: Literal["dummy_layer"]
    size: int
    fusable: ClassVar[bool] = True

    def evaluate(self, x: Shape) -> Evaluation:
        return Evaluation((self.size,))


class Resizing(Layer):
    """Fusable, but it changes the shape: the role check must say so."""

    type: Literal["dummy_resizing"]
    family: ClassVar[str] = "act"
    quiet: ClassVar[bool] = True
    fusable: ClassVar[bool] = True

    def evaluate(self, x: Shape) -> Evaluation:
        return Evaluation((1, *x[1:]))


def test_the_checks_name_a_class_that_lacks_its_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REGISTRY, "dummy_layer", Dummy)
    monkeypatch.setitem(REGISTRY, "dummy_resizing", Resizing)
    roles = missing(role_problems)
    assert set(roles) == {"Dummy", "Resizing"}
    assert roles["Dummy"] == ["family '' is not one of " + str(sorted(FAMILIES)),
                              "fusable but not quiet (a fused activation has no table row of its own)",
                              "fusable, but 'dummy_layer' alone is not a layer on 4x5x6 (ValidationError)"]
    assert roles["Resizing"] == ["fusable, but 'dummy_resizing' changes the shape or has parameters"]
    torch_side = missing(torch_problems)
    assert torch_side["Dummy"] == ["no torch builder in cnncalc/torch/build.py BUILDERS",
                                   "no import mapping in cnncalc/torch/imports.py IMPORTS"]
    from cnncalc.torch.imports import Import

    monkeypatch.setitem(BUILDERS, Dummy, lambda t, layer, x, keep: None)
    monkeypatch.setitem(IMPORTS, Dummy, Import())
    assert missing(torch_problems)["Dummy"] == [
        "an empty import mapping: give torch modules, functions, or the reason there are none"]


# --- one definition of "fusable" ----------------------------------------------------------------------------------


def test_fusable_is_one_definition() -> None:
    from cnncalc.spec.notation.words import _fusable

    fusable = {name for name, cls in REGISTRY.items() if cls.fusable}
    assert set(_fusable()) == fusable
    for name in REGISTRY:
        conv = {"type": "conv", "out_channels": 2, "kernel_size": 1, "activation": name}
        if name in fusable:
            REGISTRY["conv"].model_validate(conv)
        else:
            with pytest.raises(ValidationError, match="cannot be fused"):
                REGISTRY["conv"].model_validate(conv)


def test_prelu_is_refused_as_a_fused_activation_in_both_forms() -> None:
    # prelu has a learned slope (torch.nn.PReLU's weight), so it is a layer of its own.
    import cnncalc
    from cnncalc.spec.notation import parse

    with pytest.raises(NotationError, match=r"make it a layer of its own: 'conv3-4 prelu'"):
        parse("3x8x8: conv3-4-prelu")
    with pytest.raises(SpecError, match="prelu cannot be fused"):
        cnncalc.load({"input": [3, 8, 8], "layers": [{"type": "conv", "out_channels": 4, "kernel_size": 3,
                                                      "activation": "prelu"}]})
    assert len(parse("3x8x8: conv3-4 prelu").nodes) == 2


def test_the_torch_side_imports_without_torch() -> None:
    # Completeness is checked where torch is missing only because these modules never import it at load time.
    code = ("import sys; import cnncalc.torch.build, cnncalc.torch.crosscheck, cnncalc.torch.importer; "
            "import cnncalc.torch.imports; assert 'torch' not in sys.modules, 'torch was imported'")
    subprocess.run([sys.executable, "-c", code], check=True)
