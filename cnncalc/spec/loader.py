"""Read spec files: YAML (or JSON, a subset of it) with the line of every mapping, key and list item kept.

Line numbers are attached to the data itself (``Located``/``LocatedList`` carry ``line`` and ``key_lines``), so
they survive the layer expansion and reach every error message. Guards: a size limit on files, duplicate keys
are errors, and an alias bomb (a few lines that expand to billions of nodes) is measured before anything walks it.
"""

from __future__ import annotations

from typing import Any, cast

import yaml

from cnncalc.errors import SpecError

MAX_FILE_BYTES = 16 * 1024 * 1024
MAX_NODES = 2_000_000
#: The most digits an integer in a spec may have (sizes stop at 10^12, published figures well before 10^18).
MAX_INT_DIGITS = 18
#: How deep mappings and lists may nest (the zoo needs 13). Deeper documents would exhaust Python's recursion
#: limit in PyYAML's composer or in whatever walks the data next, and lose the line; this limit keeps it.
MAX_DEPTH = 100

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class Located(dict[Any, Any]):
    """A mapping that remembers its own line and each key's line (1-based)."""

    line: int = 0
    key_lines: dict[Any, int]


class LocatedList(list[Any]):
    """A sequence that remembers its own line and each item's line."""

    line: int = 0
    key_lines: dict[int, int]


class _Loader(_Base):  # type: ignore[misc]
    """Safe loader whose mappings and sequences keep their source lines."""


def _mapping(loader: Any, node: yaml.MappingNode) -> Located:
    loader.flatten_mapping(node)
    out = Located()
    out.line = node.start_mark.line + 1
    out.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise SpecError("a mapping key must be a plain value", line=key_node.start_mark.line + 1) from None
        if key in out:
            raise SpecError(f"duplicate key '{key}'", line=key_node.start_mark.line + 1)
        out[key] = loader.construct_object(value_node, deep=True)
        out.key_lines[key] = key_node.start_mark.line + 1
    return out


def _sequence(loader: Any, node: yaml.SequenceNode) -> LocatedList:
    out = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.key_lines = {i: child.start_mark.line + 1 for i, child in enumerate(node.value)}
    return out


def _int(loader: Any, node: yaml.ScalarNode) -> Any:
    """YAML's integer, refused past :data:`MAX_INT_DIGITS` digits (Python will not even print one of 4,301)."""
    digits = sum(ch.isdigit() for ch in str(node.value))
    if digits > MAX_INT_DIGITS:
        raise SpecError(
            f"a number of {digits:,} digits; integers in a spec are limited to {MAX_INT_DIGITS} digits",
            line=node.start_mark.line + 1,
        )
    return yaml.SafeLoader.construct_yaml_int(loader, node)


_Loader.add_constructor("tag:yaml.org,2002:int", _int)
_Loader.add_constructor("tag:yaml.org,2002:map", _mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _sequence)


def _measure(data: Any) -> None:
    """Count nodes as if aliases were copied (memoised per object, so linear); refuse absurd expansions."""
    sizes: dict[int, int] = {}

    def size(obj: Any) -> int:
        key = id(obj)
        if key in sizes:
            return sizes[key]
        sizes[key] = 1  # a cycle counts once rather than looping
        children: Any = obj.values() if isinstance(obj, dict) else obj if isinstance(obj, list) else ()
        total = 1
        for child in children:
            total += size(child)
            if total > MAX_NODES:
                break
        sizes[key] = total
        return total

    if size(data) > MAX_NODES:
        raise SpecError(
            f"the document expands to more than {MAX_NODES:,} values through YAML aliases (an alias bomb?)"
        )


def _too_deep(line: int) -> SpecError:
    return SpecError(f"mappings and lists nest more than {MAX_DEPTH} levels deep here", line=line)


def _check_depth(text: str) -> None:
    """Refuse a document nested past :data:`MAX_DEPTH` at the line where it passes the limit, from libyaml's events
    alone (no recursion), before PyYAML's recursive composer sees it; a parse error stops the scan, for the full
    loader to word."""
    from yaml import events as ev

    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Base):
            if isinstance(event, ev.MappingStartEvent | ev.SequenceStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _too_deep(event.start_mark.line + 1 if event.start_mark else 0)
            elif isinstance(event, ev.MappingEndEvent | ev.SequenceEndEvent):
                depth -= 1
    except yaml.YAMLError:
        return


class _FullLoaderError(Exception):
    """What the fast path cannot take (anchors, aliases, tags, merge keys, complex keys, a parse error): the full
    loader reads the document instead, with its own messages."""


_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("null", "bool", "int", "float")}


class _Events:
    """Builds a document from libyaml's events: containers as they open, scalars through YAML's own resolver."""

    def __init__(self) -> None:
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()
        self.cache: dict[str, Any] = {}
        #: Open containers; a mapping's key waiting for its value sits on top of it as (key, line).
        self.stack: list[Any] = []
        self.root: Any = None
        self.done = False

    def scalar(self, event: Any) -> Any:
        """A scalar's value, as the full loader constructs it (cached per spelling)."""
        if event.anchor is not None or (event.tag is not None and event.tag != "!"):
            raise _FullLoaderError
        value = event.value
        if event.style or not event.implicit[0]:  # quoted or block text: a string
            return value
        if value in self.cache:
            return self.cache[value]
        tag = cast(str, self.resolver.resolve(yaml.ScalarNode, value, (True, False)))  # type: ignore[no-untyped-call]
        if tag == "tag:yaml.org,2002:str":
            self.cache[value] = value
            return value
        if tag not in _PLAIN_TAGS:  # timestamps, merge keys, ...: the full loader's business
            raise _FullLoaderError
        node = yaml.ScalarNode(tag, value, event.start_mark, event.end_mark)
        try:
            out = _int(self.constructor, node) if tag.endswith(":int") else \
                self.constructor.yaml_constructors[tag](self.constructor, node)
        except SpecError:
            raise _FullLoaderError from None  # every message comes from the full loader

        self.cache[value] = out
        return out

    def attach(self, value: Any, line: int, opened: bool) -> None:
        """Put a new value where it belongs: the root, a list item, a mapping's key or a key's value."""
        stack = self.stack
        if not stack:
            if opened:
                stack.append(value)
            else:
                self.root, self.done = value, True
            return
        top = stack[-1]
        if isinstance(top, tuple):  # a mapping's key is waiting for this value
            stack.pop()
            key, key_line = top
            stack[-1][key] = value
            stack[-1].key_lines[key] = key_line
        elif isinstance(top, Located):
            if opened:
                raise _FullLoaderError  # a mapping or sequence as a key
            try:
                duplicate = value in top
            except TypeError:
                raise _FullLoaderError from None
            if duplicate:
                raise _FullLoaderError  # the full loader words it (after any syntax error, as it parses first)
            stack.append((value, line))
            return
        else:
            top.key_lines[len(top)] = line
            top.append(value)
        if opened:
            stack.append(value)

    def close(self) -> None:
        closed = self.stack.pop()  # attached to its parent when it opened
        if isinstance(closed, tuple):
            raise _FullLoaderError  # a key without a value: malformed, the full loader says so
        if not self.stack:
            self.root, self.done = closed, True


def _fast(text: str) -> Any:  # noqa: PLR0915 - the per-event loop is written out in line on purpose (speed)
    """The document built straight from libyaml's event stream, with the same lines and values as the full loader.

    PyYAML's composer makes a node object (and two marks) per value before the constructor walks them again; for a
    100,000-layer chain that is most of the load time. Plain specs (no anchors, aliases, tags or merge keys) need
    none of it: mappings and sequences are built as their events arrive, and plain scalars are resolved with
    YAML's own resolver and constructors, cached per spelling.
    """
    from yaml import events as ev

    try:
        from yaml._yaml import CParser  # libyaml, as PyYAML wheels ship it
    except ImportError:
        raise _FullLoaderError from None
    parser = CParser(text)
    doc = _Events()
    get: Any = parser.get_event
    stack, cache, scalar = doc.stack, doc.cache, ev.ScalarEvent
    opening, closing = ev.MappingStartEvent, ev.MappingEndEvent
    try:
        while True:
            event = get()
            kind = type(event)
            if kind is scalar and event.anchor is None and event.tag is None and stack:
                # The common event, in line: a plain or quoted scalar as a key, a key's value or a list item.
                plain = event.value
                if not event.style and event.implicit[0]:
                    plain = cache[plain] if plain in cache else doc.scalar(event)
                top = stack[-1]
                if type(top) is tuple:  # a key's value
                    stack.pop()
                    owner = stack[-1]
                    owner[top[0]] = plain
                    owner.key_lines[top[0]] = top[1]
                elif type(top) is Located:  # a key
                    if plain in top:
                        raise _FullLoaderError  # the full loader words it
                    stack.append((plain, event.start_mark.line + 1))
                else:
                    top.key_lines[len(top)] = event.start_mark.line + 1
                    top.append(plain)
                continue
            if kind is opening and event.anchor is None and event.tag is None:  # a plain mapping, e.g. a layer
                mapping = Located()
                mapping.line, mapping.key_lines = event.start_mark.line + 1, {}
                if len(stack) >= MAX_DEPTH and sum(not isinstance(x, tuple) for x in stack) >= MAX_DEPTH:
                    raise _too_deep(mapping.line)
                doc.attach(mapping, mapping.line, True)
                continue
            if kind is closing or kind is ev.SequenceEndEvent:
                doc.close()
                continue
            if event is None or isinstance(event, ev.StreamEndEvent):
                break
            if isinstance(event, ev.DocumentStartEvent | ev.StreamStartEvent | ev.DocumentEndEvent):
                if isinstance(event, ev.DocumentStartEvent) and doc.done:
                    raise _FullLoaderError  # several documents: the full loader words that error
                continue
            line = event.start_mark.line + 1 if event.start_mark is not None else 0
            if isinstance(event, ev.MappingStartEvent | ev.SequenceStartEvent):
                if len(doc.stack) >= MAX_DEPTH and sum(not isinstance(x, tuple) for x in doc.stack) >= MAX_DEPTH:
                    raise _too_deep(line)  # (the stack also holds a key per open mapping: count containers only)
                if event.anchor is not None or (event.tag is not None and event.tag != "!"):
                    raise _FullLoaderError
                value: Any = Located() if isinstance(event, ev.MappingStartEvent) else LocatedList()
                value.line, value.key_lines = line, {}
                doc.attach(value, line, True)
            elif isinstance(event, ev.ScalarEvent):
                doc.attach(doc.scalar(event), line, False)
            elif isinstance(event, ev.MappingEndEvent | ev.SequenceEndEvent):
                doc.close()
            else:  # an alias
                raise _FullLoaderError
    except yaml.YAMLError:
        raise _FullLoaderError from None
    return doc.root


def parse_text(text: str, file: str | None = None) -> Any:
    """YAML/JSON text → plain data with source lines; every parse problem becomes a located SpecError.

    The common document goes through :func:`_fast`; anything it does not take, and every document with a
    problem, goes through the full loader, so that messages (and which problem is reported first) come from one
    place.
    """
    if len(text) > MAX_FILE_BYTES:
        raise SpecError(f"the file is larger than {MAX_FILE_BYTES // 2**20} MiB", file=file)
    try:
        return _fast(text)
    except _FullLoaderError:
        pass
    except SpecError as err:
        raise err.located(file=file) from None
    except RecursionError:
        raise SpecError("the document is nested too deeply", file=file) from None
    try:
        _check_depth(text)
        data = yaml.load(text, Loader=_Loader)
    except SpecError as err:
        raise err.located(file=file) from None
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        if "maximum nesting depth" in str(err.problem) and mark:  # libyaml's own limit (1,000), met scanning ahead
            raise _too_deep(mark.line + 1).located(file=file) from None
        reason = " ".join(str(part) for part in (err.context, err.problem) if part)
        raise SpecError(f"malformed YAML: {reason}", file=file, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as err:
        raise SpecError(f"malformed YAML: {err}", file=file) from None
    except RecursionError:
        raise SpecError("the document is nested too deeply", file=file) from None
    try:
        _measure(data)
    except RecursionError:
        raise SpecError("the document is nested too deeply", file=file) from None
    except SpecError as err:
        raise err.located(file=file) from None
    return data


def line_of(obj: Any, key: str | int | None = None) -> int | None:
    """The source line the loader attached to a mapping/list (or to one of its keys/items)."""
    lines = getattr(obj, "key_lines", None)
    if key is not None and lines and key in lines:
        return int(lines[key])
    line = getattr(obj, "line", None)
    return int(line) if line else None
