"""The command line's spec strings, shared by the CLI and the library: ``"floor:share=0.2"``,
``"maxmin:over=region"``, a YAML flow mapping ``"{name: alpha, alpha: 2}"`` or a list of them.

Read as scenario files are: YAML 1.2 (``no`` is text), a key given twice is an error, and a number
keeps the text it was written as where an id is expected (``group=02134``).
"""

from __future__ import annotations

import yaml

from allocator.core.errors import UsageError
from allocator.core.scalars import WrittenFloat
from allocator.core.yaml12 import YAML_LOADER


def parse_spec(text: str, name_field: str) -> dict:
    """``"maxmin"``, ``"maxmin:over=region"``, ``"floor:share=0.2"`` or a YAML flow mapping -> dict."""
    text = text.strip()
    if text.startswith("{"):
        flow = _flow_yaml(text)
        if not isinstance(flow, dict):
            raise UsageError(f"{text!r} is not a mapping")
        return flow
    name, _, rest = text.partition(":")
    spec: dict = {name_field: name.strip()}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"in {text!r}: expected key=value, got {item!r}")
        if key.strip() in spec:
            raise UsageError(f"in {text!r}: {key.strip()!r} is given twice (expected each key once)")
        spec[key.strip()] = _number_or_text(value.strip())
    return spec


def _flow_yaml(text: str):
    """A YAML flow mapping or list from the command line, read as scenario files are (YAML 1.2,
    a key given twice is an error, not the last one silently winning)."""
    loader = YAML_LOADER(text)
    try:
        value = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise UsageError(f"cannot read {text!r}: {exc}") from None
    finally:
        loader.dispose()
    if loader.duplicates:
        key, first, _ = loader.duplicates[0]
        raise UsageError(f"in {text!r}: {key!r} is given twice (expected each key once)")
    return value


def parse_spec_list(text: str, name_field: str) -> list:
    """``"utilitarian,maxmin:over=region,alpha:alpha=2,nash"`` or ``"[{name: alpha, alpha: 2}, nash]"`` -> specs.

    A comma starts a new spec unless what follows is another ``key=value`` of the previous one.
    """
    text = text.strip()
    if text.startswith("{"):  # one mapping: its commas separate its keys, not specs
        return [parse_spec(text, name_field)]
    if text.startswith("["):
        items = _flow_yaml(text)
        return [item if isinstance(item, dict) else parse_spec(str(item), name_field) for item in items or []]
    parts: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if parts and "=" in piece and ":" not in piece:
            parts[-1] += "," + piece
        elif piece:
            parts.append(piece)
    return [parse_spec(part, name_field) for part in parts]


def _number_or_text(value: str) -> float | str:
    """``share=0.2`` is a number; ``attribute=no`` stays the text 'no' (not YAML's false), and
    ``group=02134`` keeps its text where an id is expected (a :class:`~allocator.core.scalars.WrittenFloat`)."""
    if "_" in value:  # float() reads 1_000 as 1000: as in a scenario file, that is text
        return value
    try:
        return WrittenFloat(float(value), value)
    except ValueError:
        return value
