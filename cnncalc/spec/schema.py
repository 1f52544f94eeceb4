"""The JSON Schema of spec files, generated from the same pydantic models that validate them."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, create_model

from cnncalc.engine.layers import REGISTRY, layer_classes
from cnncalc.spec.format import Header


def json_schema() -> dict[str, Any]:
    """Header fields, and ``layers`` as a discriminated union of every layer class, bare names and repeat groups."""
    classes = tuple(layer_classes())
    union: Any = Annotated[Union[classes], Field(discriminator="type")]  # noqa: UP007 - a runtime tuple
    bare: Any = Literal[tuple(sorted(REGISTRY))]

    class RepeatGroup(BaseModel):
        """A list of layers repeated ``repeat`` times."""

        model_config = ConfigDict(extra="forbid")
        repeat: Annotated[int, Field(ge=1)] = 1
        layers: list[Any]

    entry: Any = union | bare | RepeatGroup
    fields: dict[str, Any] = {
        name: (info.annotation, info) for name, info in Header.model_fields.items() if name != "layers"
    }
    fields["layers"] = (list[entry], Field(min_length=1))
    model = create_model("CnncalcSpec", __config__=ConfigDict(extra="forbid"), **fields)
    schema = model.model_json_schema()
    for name, definition in schema.get("$defs", {}).items():
        if name in {cls.__name__ for cls in classes}:
            definition.setdefault("properties", {})["repeat"] = {
                "type": "integer", "minimum": 1, "default": 1, "description": "Repeat this layer N times."
            }
    schema["title"] = "cnncalc network spec"
    return schema
