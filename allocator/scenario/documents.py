"""Parse a scenario file (YAML, JSON or TOML) into a mapping, reading every value as the planner meant it.

YAML is read with the YAML 1.2 core schema, not PyYAML's YAML 1.1 one: ``no`` and ``on`` stay
text, ``1:30`` is not 90, ``2024-01-01`` is not a date and ``1_000`` is not 1000. Plain numbers
remember their text (:mod:`allocator.core.scalars`), so the id ``02134`` stays ``"02134"``. Mapping
keys are always their text. A key written twice in one mapping is an error in every format
(YAML and JSON would silently keep the last one; TOML refuses it itself).
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from allocator.core.errors import Issue
from allocator.core.yaml12 import YAML_LOADER
from allocator.scenario.files import document_issues, is_link_loop

SUFFIXES = {".yaml": "YAML", ".yml": "YAML", ".json": "JSON", ".toml": "TOML"}



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
            seen_twice: list[str] = []
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
