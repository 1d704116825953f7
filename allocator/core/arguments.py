"""Check a public function's arguments at the boundary, and accept what a caller plainly meant.

:func:`checked` wraps a function in :func:`pydantic.validate_call` (strict: ``"5"`` is no count,
``"no"`` no flag) and turns pydantic's ``ValidationError`` into allocator's :class:`UsageError`,
naming the function, the argument, the value seen and what was expected. A wrong argument then
fails before any work, never as an ``AttributeError`` deep inside. The check costs about a
microsecond a call.

The aliases below say what an argument may be; :func:`instance` makes one for a class, and may
accept what the caller plainly meant (``allocator.scenario.load.ScenarioLike`` loads the path of a
scenario file as :func:`allocator.load_scenario` does).

Examples
--------
>>> @checked
... def ration(draws: Count) -> int:
...     return draws
>>> ration(draws="5")
Traceback (most recent call last):
...
allocator.core.errors.UsageError: ration(): draws is '5' (str); expected a whole number of at least 1
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
import os
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, ValidationError, validate_call

from allocator.core.errors import UsageError, inert

_CONFIG = ConfigDict(arbitrary_types_allowed=True, strict=True)


@dataclass(frozen=True)
class Expected:
    """Annotation metadata: what an argument of this type should be, in the error message's words."""

    text: str


def instance(cls: type | tuple[type, ...], text: str, convert=None):
    """An argument that must be an instance of ``cls``; ``convert(value)`` may turn what the caller
    plainly meant into one (it raises ``ValueError`` when it cannot)."""

    def check(value):
        if isinstance(value, cls):
            return value
        if convert is not None:
            return convert(value)
        raise ValueError(text)

    return Annotated[Any, BeforeValidator(check), Expected(text)]


#: a file or folder path
PathLike = Annotated[str | os.PathLike, Expected("a path (str or pathlib.Path)")]
#: a solver name or a backend object


def _whole(value):
    """numpy integers and whole floats (``3.0``) as ``int``: plainly meant; ``True`` and ``"3"`` are not."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: a whole number of at least 1 (draws, samples, points)
Count = Annotated[int, BeforeValidator(_whole), Field(ge=1), Expected("a whole number of at least 1")]
#: a whole number of at least 0 (seeds, lottery draws, samples)
Whole = Annotated[int, BeforeValidator(_whole), Field(ge=0), Expected("a whole number of at least 0")]
#: a finite number of seconds above 0
Seconds = Annotated[float, Field(gt=0, allow_inf_nan=False), Expected("a number of seconds above 0")]
#: a finite number
Finite = Annotated[float, Field(allow_inf_nan=False), Expected("a finite number")]


def _numbers(value):
    """Any sequence or array of finite numbers, as a list of floats (a text or a mapping is no list)."""
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValueError("not a list")
    items = list(value)
    for item in items:
        if isinstance(item, bool) or not isinstance(item, numbers.Real) or not math.isfinite(item):
            raise ValueError("not a finite number")
    return [float(item) for item in items]


#: a list (or array) of finite numbers
Numbers = Annotated[Any, BeforeValidator(_numbers), Expected("a list of finite numbers")]
#: a name (a group attribute, a resource id...)
Text = Annotated[str, Expected("a name (text)")]
Flag = Annotated[bool, Expected("True or False")]
#: a mapping (a scenario document)
Document = instance(Mapping, "a mapping (the scenario as its file would parse)")


def checked(function):
    """``function`` with its arguments checked against its annotations (see the module docstring).

    Parameters without an annotation are not checked (rules and constraints are read, with
    their own messages, by the registries).
    """
    validated = validate_call(config=_CONFIG)(function)
    signature = inspect.signature(function)
    parameters = list(signature.parameters)
    kinds = [p.kind for p in signature.parameters.values()]
    positional = sum(kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
                     for kind in kinds)
    takes_more = inspect.Parameter.VAR_POSITIONAL in kinds
    try:
        hints = typing.get_type_hints(function, include_extras=True)
    except Exception:  # an annotation only a type checker can resolve: pydantic's messages alone
        hints = {}
    expected = {name: _expected_of(hint) for name, hint in hints.items()}

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if len(args) > positional and not takes_more:
            raise UsageError(_keyword_only(function.__name__, args[positional:], parameters, positional))
        try:
            return validated(*args, **kwargs)
        except ValidationError as exc:
            raise UsageError(_message(function.__name__, exc, parameters, expected)) from None

    return wrapper


def _keyword_only(function: str, extra: tuple, parameters: list[str], positional: int) -> str:
    """``solve(): rule is keyword-only: write solve(scenario, rule='maxmin')`` (scikit-learn's SLEP009)."""
    names = [n for n in parameters[positional:] if not n.startswith("_")][:len(extra)]
    given = ", ".join(f"{n}={_short(v)}" for n, v in zip(names, extra))
    front = ", ".join(parameters[:positional])
    return (f"{function}(): takes {positional} positional argument{'s' if positional != 1 else ''} ({front}); "
            f"the options are keyword-only: write {function}({front}, {given})")


def _short(value) -> str:
    text = repr(value)
    return inert(text if len(text) <= 30 else text[:27] + "...")


def _expected_of(hint) -> str | None:
    for item in getattr(hint, "__metadata__", ()):
        if isinstance(item, Expected):
            return item.text
    for inner in typing.get_args(hint):  # Count | None and the like
        found = _expected_of(inner)
        if found:
            return found + (" (or None)" if type(None) in typing.get_args(hint) else "")
    return None


def _message(function: str, exc: ValidationError, parameters: list[str], expected: dict) -> str:
    """One line per wrong argument: ``solve(): scenario is 3 (int); expected a Scenario...``."""
    lines: dict[str, str] = {}
    wanted: dict[str, list[str]] = {}
    for error in exc.errors(include_url=False):
        loc = list(error["loc"])
        name = loc[0] if loc else "?"
        if isinstance(name, int) and name < len(parameters):
            name = parameters[name]  # a positional argument: pydantic gives its index
        path = str(name) + "".join(f"[{k}]" for k in loc[1:] if isinstance(k, int))
        if error["type"].startswith("missing"):
            lines[path] = f"{function}(): missing required argument {name!r}"
            continue
        if error["type"].startswith("unexpected"):
            where = f"argument {name + 1}" if isinstance(name, int) else repr(name)
            lines[path] = f"{function}(): unexpected {where} ({_shown(error.get('input'))}); see help({function})"
            continue
        text = expected.get(str(name)) or _plain(error["msg"])
        wanted.setdefault(path, [])
        if text not in wanted[path]:
            wanted[path].append(text)
        lines[path] = f"{function}(): {path} is {_shown(error.get('input'))}; expected {' or '.join(wanted[path])}"
    return "\n".join(lines.values())


def _plain(message: str) -> str:
    """pydantic's ``Input should be a valid integer`` as ``a valid integer``."""
    for start in ("Input should be ", "Value error, "):
        if message.startswith(start):
            return message[len(start):]
    return message


def _shown(value) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return inert(f"{text} ({type(value).__name__})")
