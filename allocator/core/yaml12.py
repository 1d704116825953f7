"""The YAML loader every scenario file and CLI option is read with: YAML 1.2's core schema.

PyYAML implements YAML 1.1, which turns ``no`` into false, ``1:30`` into 90, ``02134`` into 1116
and ``2024-01-01`` into a date. This loader keeps libyaml's parser and resolves plain scalars by
the YAML 1.2 core schema instead; numbers remember the text they were written as
(:mod:`allocator.core.scalars`), so an id stays the text the planner typed. A leaf module, so the
registry (CLI spec strings) and the scenario reader share it.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import yaml
from yaml.constructor import ConstructorError

from allocator.core.scalars import WrittenFloat, WrittenInt

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


if TYPE_CHECKING:  # the C loader where PyYAML has it; the type checker reads the pure-Python one's stubs
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YAML_LOADER(_SafeLoader):  # noqa: N801 (used like PyYAML's loaders)
    """PyYAML's safe loader (libyaml's parser when built with it: ~10x faster) with the YAML 1.2 core schema.

    Plain scalars resolve to null, true/false, integers (``12``, ``0o17``, ``0x1F``) and floats
    (``1.5``, ``1e6``, ``.inf``); everything else is text. Duplicate keys are collected in
    ``duplicates`` as ``(key, first line, second line)``.
    """

    yaml_implicit_resolvers: dict = {}  # our own, not a copy of YAML 1.1's

    def __init__(self, stream):
        super().__init__(stream)
        self.duplicates: list[tuple[str, int, int]] = []

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            self._note_duplicates(node)
            self.flatten_mapping(node)  # ``<<: *defaults`` merges; the mapping's own keys win
        mapping = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                key = key_node.value  # keys are names: ``01: x`` is the key "01"
            else:
                raise ConstructorError("while reading a mapping", node.start_mark,
                                       "found a list or mapping used as a key", key_node.start_mark)
            mapping[key] = self.construct_object(value_node, deep=deep)
        return mapping

    def _note_duplicates(self, node) -> None:
        first: dict[str, int] = {}
        for key_node, _ in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                line = key_node.start_mark.line + 1
                if key_node.value in first:
                    self.duplicates.append((key_node.value, first[key_node.value], line))
                first.setdefault(key_node.value, line)

    def construct_written_int(self, node) -> WrittenInt:
        text = self.construct_scalar(node)
        digits = text.strip()  # an explicit ``!!int`` may be any text
        try:
            if digits.startswith(("0o", "0x")):
                return WrittenInt(int(digits[2:], 8 if digits[1] == "o" else 16), text)
            return WrittenInt(int(digits, 10), text)
        except ValueError:
            raise ConstructorError(None, None, f"cannot read {text!r} as a whole number", node.start_mark) from None

    def construct_written_float(self, node) -> WrittenFloat:
        text = self.construct_scalar(node)
        special = {".inf": "inf", "+.inf": "inf", "-.inf": "-inf", ".nan": "nan"}
        try:
            return WrittenFloat(float(special.get(text.lower(), text)), text)
        except ValueError:
            raise ConstructorError(None, None, f"cannot read {text!r} as a number", node.start_mark) from None


_CORE_INT = re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$")
_CORE = [  # YAML 1.2.2, section 10.3.2 (core schema), plus the merge key
    ("tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]),
    ("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")),
    (_INT, _CORE_INT, list("-+0123456789")),
    (_FLOAT, re.compile(r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
                        r"|[-+]?(?:\.inf|\.Inf|\.INF)|\.nan|\.NaN|\.NAN)$"), list("-+0123456789.")),
    ("tag:yaml.org,2002:merge", re.compile(r"^<<$"), ["<"]),
]
for _tag, _pattern, _first in _CORE:
    YAML_LOADER.add_implicit_resolver(_tag, _pattern, _first)
YAML_LOADER.add_constructor(_INT, YAML_LOADER.construct_written_int)
YAML_LOADER.add_constructor(_FLOAT, YAML_LOADER.construct_written_float)
