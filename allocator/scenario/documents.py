"""Parse a scenario file (YAML, JSON or TOML) into a mapping, reading every value as the planner meant it.

YAML is read with the YAML 1.2 core schema, not PyYAML's YAML 1.1 one: ``no`` and ``on`` stay
text, ``1:30`` is not 90, ``2024-01-01`` is not a date and ``1_000`` is not 1000. Plain numbers
remember their text (:mod:`allocator.scalars`), so the id ``02134`` stays ``"02134"``. Mapping
keys are always their text. A key written twice in one mapping is an error in every format
(YAML and JSON would silently keep the last one; TOML refuses it itself).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml
from yaml.constructor import ConstructorError

from allocator.errors import Issue
from allocator.scalars import WrittenFloat, WrittenInt
from allocator.scenario.files import document_issues, is_link_loop

SUFFIXES = {".yaml": "YAML", ".yml": "YAML", ".json": "JSON", ".toml": "TOML"}

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"


class YAML_LOADER(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # noqa: N801 (used like PyYAML's loaders)
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


def read_document(path: Path) -> tuple[dict | None, list[Issue]]:
    """Parse the scenario file into a mapping, or explain why it cannot be parsed."""
    label = str(path)
    kind = SUFFIXES.get(path.suffix.lower())
    if is_link_loop(path):
        return None, [Issue(label, "(file)", "is a symbolic link loop", "a scenario file (.yaml, .json or .toml)")]
    if not path.exists():
        return None, [Issue(label, "(file)", "file not found", "a scenario file (.yaml, .json or .toml)")]
    if not path.is_file():
        return None, [Issue(label, "(file)", "is not a regular file", "a scenario file (.yaml, .json or .toml)")]
    if kind is None:
        return None, [Issue(label, "(file)", f"unsupported file type {path.suffix!r}", "a .yaml, .yml, .json or .toml file")]
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return None, [Issue(label, "(file)", f"is not valid UTF-8 text (byte {exc.start})", "a UTF-8 text file")]
    duplicates: list[tuple[str, int, int]] = []
    try:
        if kind == "YAML":
            loader = YAML_LOADER(text)
            try:
                document = loader.get_single_data()
            finally:
                loader.dispose()
            duplicates = loader.duplicates
        elif kind == "JSON":
            seen_twice = []
            document = json.loads(text, object_pairs_hook=lambda pairs: _json_object(pairs, seen_twice))
            duplicates = json_duplicates(text) if seen_twice else []
        else:
            document = tomllib.loads(text)  # refuses a repeated key itself ("Cannot overwrite a value")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        return None, [Issue(label, where, f"YAML syntax error: {exc.problem}", "valid YAML")]
    except yaml.YAMLError as exc:
        return None, [Issue(label, "(file)", f"YAML error: {exc}", "valid YAML")]
    except json.JSONDecodeError as exc:
        return None, [Issue(label, f"line {exc.lineno}, column {exc.colno}", f"JSON syntax error: {exc.msg}", "valid JSON")]
    except tomllib.TOMLDecodeError as exc:
        return None, [Issue(label, "(file)", f"TOML syntax error: {exc}", "valid TOML")]
    except RecursionError:
        return None, [Issue(label, "(file)", "is nested too deeply to parse", "the scenario format (a few levels)")]
    if duplicates:
        return None, [Issue(label, f"line {second}", f"key {key!r} is given twice in one mapping (first at line "
                            f"{first}); the second would silently replace the first", "each key once per mapping")
                      for key, first, second in duplicates]
    if document is None:
        return None, [Issue(label, "(file)", "is empty", "a scenario with at least name, resources, supply or sites, units")]
    if not isinstance(document, dict):
        return None, [Issue(label, "(top level)", f"must be a mapping of keys, got {type(document).__name__}",
                            "keys such as name, resources, units")]
    too_large = document_issues(document, label)
    return (None, too_large) if too_large else (document, [])


def _json_object(pairs: list[tuple[str, object]], seen_twice: list[str]) -> dict:
    mapping = dict(pairs)
    if len(mapping) < len(pairs):
        seen_twice.append("")
    return mapping


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"\s*:?|[{}\[\]]', re.DOTALL)


def json_duplicates(text: str) -> list[tuple[str, int, int]]:
    """``(key, first line, second line)`` for each key repeated in one JSON object (text already valid JSON).

    >>> json_duplicates('{"a": 1,\\n "b": {"a": 2},\\n "a": 3}')
    [('a', 1, 3)]
    """
    found = []
    objects: list[dict[str, int] | None] = []  # per open bracket: the keys seen (None for a list)
    line, counted = 1, 0
    for token in _JSON_TOKEN.finditer(text):
        value = token.group()
        if value in ("{", "["):
            objects.append({} if value == "{" else None)
        elif value in ("}", "]"):
            objects.pop()
        elif value.endswith(":") and objects and objects[-1] is not None:
            key = json.loads(value[:-1].rstrip())
            line, counted = line + text.count("\n", counted, token.start()), token.start()
            if key in objects[-1]:
                found.append((key, objects[-1][key], line))
            objects[-1].setdefault(key, line)
    return found
