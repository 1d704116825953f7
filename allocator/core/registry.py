"""Named registries for rules and constraints: one name, one class, shared by YAML, CLI and API."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, Iterable, Iterator, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from allocator.core.errors import Issue, UsageError
from allocator.core.spec_text import parse_spec, parse_spec_list

T = TypeVar("T", bound="Spec")


class FrozenDict(dict):
    """A dict that refuses changes: what a frozen model holds must not change under it.

    A ``dict`` subclass (not a ``MappingProxyType``) so that pydantic serialises it and pickle and
    ``copy`` rebuild it.
    """

    def _refuse(self, *args, **kwargs):
        raise TypeError("this mapping is read-only: derive a changed copy instead (e.g. Scenario.replace)")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = __ior__ = _refuse

    def __reduce__(self):
        return (type(self), (dict(self),))

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


def freeze(value):
    """``value`` with every dict inside (at any depth) made a :class:`FrozenDict`; anything else as is."""
    if isinstance(value, dict) and not isinstance(value, FrozenDict):
        return FrozenDict({k: freeze(v) for k, v in value.items()})
    return value


class ReadOnlyModel(BaseModel):
    """A frozen pydantic model frozen all the way down: mappings inside are read-only (:func:`freeze`),
    and :meth:`model_copy` validates the changes (pydantic's own skips validation)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @model_validator(mode="after")
    def _read_only(self):
        for name in type(self).model_fields:
            object.__setattr__(self, name, freeze(getattr(self, name)))
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False):
        """A copy with ``update`` applied, validated like the original."""
        if not update:
            return self
        try:
            return type(self).model_validate({**dict(self), **update})
        except ValidationError as exc:
            raise self._refused(issues_from_validation(exc, file="<argument>", where=self._copy_label())) from None

    def _copy_label(self) -> str:
        return type(self).__name__

    def _refused(self, issues: list[Issue]) -> Exception:
        """The error a copy with invalid changes raises."""
        return UsageError(_joined(issues))


class Spec(ReadOnlyModel):
    """Base of rules and constraints: small, frozen, keyword-only, strictly validated."""

    #: registry key (``maxmin``, ``group_gap``...), set by each subclass
    key: ClassVar[str] = ""
    #: one line for ``allocator rules``
    summary: ClassVar[str] = ""

    def _copy_label(self) -> str:
        return self.key

    def attributes(self) -> tuple[str, ...]:
        """Group attributes this spec refers to (checked against the scenario's ``groups``)."""
        return tuple(v for k, v in self.params().items() if k in ("attribute", "over") and v)

    def columns(self) -> tuple[str, ...]:
        """Numeric columns of the units table this spec reads (checked to exist and hold numbers >= 0)."""
        return ()

    def resources(self) -> tuple[str, ...]:
        """Resources this spec refers to by name."""
        resource = self.params().get("resource")
        return (resource,) if resource else ()

    def params(self) -> dict[str, Any]:
        """Parameters as resolved (defaults filled in)."""
        return self.model_dump()

    def label(self) -> str:
        """The name with only the parameters that differ from their defaults: ``alpha(alpha=2.0)``, ``nash``."""
        changed = self.model_dump(exclude_defaults=True)
        inner = ", ".join(f"{k}={v}" for k, v in changed.items() if v is not None)
        return f"{self.key}({inner})" if inner else self.key

    def describe(self) -> str:
        """Short form used in messages, e.g. ``group_gap(attribute=race, max_gap=0.05)``."""
        inner = ", ".join(f"{k}={v}" for k, v in self.params().items() if v is not None)
        return f"{self.key}({inner})"


class Registry(Generic[T]):
    """Maps names to spec classes; a duplicate name raises, an unknown one lists the valid ones."""

    def __init__(self, kind: str, name_field: str):
        self.kind = kind
        self.name_field = name_field
        self._classes: dict[str, type[T]] = {}

    def register(self, cls: type[T]) -> type[T]:
        if cls.key in self._classes:
            raise ValueError(f"{self.kind} {cls.key!r} is registered twice")
        self._classes[cls.key] = cls
        return cls

    def __iter__(self) -> Iterator[type[T]]:
        return iter(self._classes[name] for name in sorted(self._classes))

    def names(self) -> list[str]:
        return sorted(self._classes)

    def parse(self, spec: Any, *, file: str, where: str) -> tuple[T | None, list[Issue]]:
        """Turn ``"maxmin"``, ``{name: maxmin, over: region}`` or a spec object into an instance.

        Returns the instance (or ``None``) and the problems found, so callers can collect all of them.
        """
        if isinstance(spec, Spec):
            if self._classes.get(spec.key) is not type(spec):  # e.g. a constraint object given as a rule
                return None, [Issue(file, where, f"{spec.describe()} is not a {self.kind}",
                                    f"a {self.kind}: one of {', '.join(self.names())}")]
            return spec, []
        if isinstance(spec, str):
            spec = {self.name_field: spec}
        if isinstance(spec, Mapping):
            spec = dict(spec)
        if not isinstance(spec, dict):
            return None, [Issue(file, where, f"a {self.kind} must be a name or a mapping, got {spec!r}",
                                f"e.g. {{{self.name_field}: {self.names()[0]}}}")]
        params = dict(spec)
        name = params.pop(self.name_field, None)
        if name is None:
            return None, [Issue(file, where, f"the {self.kind} has no '{self.name_field}'",
                                f"'{self.name_field}' set to one of: {', '.join(self.names())}")]
        if not isinstance(name, str) or name not in self._classes:
            return None, [Issue(file, f"{where}.{self.name_field}", f"unknown {self.kind} {name!r}",
                                f"one of: {', '.join(self.names())}")]
        try:
            return self._classes[name].model_validate(params), []
        except ValidationError as exc:
            cls = self._classes[name]
            return None, issues_from_validation(exc, file=file, where=where,
                                                allowed=[self.name_field, *cls.model_fields])

    def get(self, name: str) -> type[T]:
        return self._classes[name]

    def coerce(self, spec: Any, *, file: str = "<argument>", where: str = "") -> tuple[T | None, list[Issue]]:
        """Like :meth:`parse`, and also reads the CLI's spec strings (``"floor:share=0.2"``, ``"{name: nash}"``)."""
        where = where or self.kind
        if isinstance(spec, str) and (":" in spec or spec.strip().startswith("{") or spec != spec.strip()):
            try:
                spec = parse_spec(spec, self.name_field)
            except UsageError as exc:
                return None, [Issue(file, where, str(exc), f"e.g. '{self.names()[0]}' or 'name:key=value'")]
        return self.parse(spec, file=file, where=where)

    def one(self, spec: Any, *, where: str = "") -> T:
        """One spec (object, mapping, name or CLI string) as an object; :class:`UsageError` if it is not one."""
        parsed, issues = self.coerce(spec, where=where or self.kind)
        if issues:
            raise UsageError(_joined(issues))
        assert parsed is not None  # parse returns None only with an issue
        return parsed

    def many(self, specs: Any, *, where: str = "") -> tuple[T, ...]:
        """Specs as a tuple of objects: one spec or a sequence of them, objects, mappings, names or CLI strings.

        A single string may list several, comma-separated (``"utilitarian,maxmin:over=region"``);
        every problem is reported in one :class:`UsageError`.
        """
        where = where or f"{self.kind}s"
        if isinstance(specs, str):
            specs = parse_spec_list(specs, self.name_field)
        elif isinstance(specs, (Spec, Mapping)):
            specs = [specs]
        elif isinstance(specs, bytes) or not isinstance(specs, Iterable):
            raise UsageError(f"{where}: expected a {self.kind}, or a list of them, got {specs!r}")
        parsed: list[T] = []
        issues: list[Issue] = []
        for k, spec in enumerate(specs):
            item, found = self.coerce(spec, where=f"{where}[{k}]")
            if item is not None:  # None only with an issue, raised below
                parsed.append(item)
            issues += found
        if issues:
            raise UsageError(_joined(issues))
        return tuple(parsed)


def _joined(issues: list[Issue]) -> str:
    return "; ".join(f"{i.location}: {i.message}" + (f" (expected {i.expected})" if i.expected else "")
                     for i in issues)


def issues_from_validation(
    exc: ValidationError, *, file: str, where: str, allowed: Iterable[str] = ()
) -> list[Issue]:
    """Translate pydantic's errors into :class:`Issue` objects in the planner's words.

    Locations read like the file (``constraints[2].share``); pydantic's internals (validator
    names, union member tags) never show. Where a value could take several forms (``a`` or
    ``[a, b]``), only the form it came closest to is explained. ``allowed`` lists the valid
    keys at the top level, named when an unknown key is found.
    """
    chosen: dict[tuple, list[tuple[tuple, Mapping[str, Any], tuple[int, str] | None]]] = {}
    for err in exc.errors():
        path, union = _split_location(err["loc"])
        chosen.setdefault(path[:len(path) if union is None else union[0]], []).append((path, err, union))
    found = [(path, err) for prefix, errors in chosen.items() for path, err in _closest_form(prefix, errors)]
    issues: list[Issue] = []
    for path, err in found:
        if err["type"] == "too_short" and any(len(p) > len(path) and p[:len(path)] == path for p, _ in found):
            continue  # "no items after validation" only because its items failed: they are reported
        issues.append(_issue(err, path, file=file, where=where, allowed=allowed))
    return list(dict.fromkeys(issues))  # one message once, even when two forms say the same


def _is_tag(part: object) -> bool:
    """pydantic's name for one member of a union (``str``, ``list[...]``, ``function-after[...]``)."""
    return isinstance(part, str) and (part in ("str", "int", "float", "bool", "none")
                                      or _TAG.match(part) is not None)


_TAG = re.compile(r"^[a-z][a-z-]*\[.*\]$", re.DOTALL)


def _split_location(loc: tuple) -> tuple[tuple, tuple[int, str] | None]:
    """The location without union tags, and (position, tag) of the first tag there was."""
    path: list[object] = []
    union = None
    for part in loc:
        if _is_tag(part):
            if union is None:
                union = (len(path), part)
            continue
        path.append(part)
    return tuple(path), union


def _closest_form(prefix: tuple, errors: list[tuple[tuple, Mapping[str, Any], tuple[int, str] | None]]
                  ) -> list[tuple[tuple, Mapping[str, Any]]]:
    """Of a union's members, the errors of the one the value came closest to (errors reaching deepest)."""
    forms: dict[str | None, list[tuple[tuple, Mapping[str, Any]]]] = {}
    for path, err, union in errors:
        forms.setdefault(union[1] if union else None, []).append((path, err))
    if len(forms) == 1:
        return next(iter(forms.values()))
    depth = {tag: max(len(path) for path, _ in found) for tag, found in forms.items()}
    deepest = max(depth.values())
    best = [found for tag, found in forms.items() if depth[tag] == deepest]
    if deepest == len(prefix) and all(len(found) == 1 and found[0][1]["type"] in _KINDS for found in best):
        # the value itself has none of the forms: one message naming them all
        kinds = " or ".join(dict.fromkeys(_KINDS[found[0][1]["type"]] for found in best))
        return [(prefix, {**best[0][0][1], "type": "forms", "msg": f"must be {kinds}"})]
    return min(best, key=len)


_KINDS = {"string_type": "text", "dict_type": "a mapping", "model_type": "a mapping",
          "model_attributes_type": "a mapping", "list_type": "a list", "tuple_type": "a list",
          "float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
          "literal_error": "one of the named choices", "none_required": "empty"}
_NUMBER_BOUNDS = {"greater_than_equal": ("ge", "at least"), "greater_than": ("gt", "more than"),
                  "less_than_equal": ("le", "at most"), "less_than": ("lt", "less than")}


def _issue(err: Mapping[str, Any], path: tuple, *, file: str, where: str, allowed: Iterable[str]) -> Issue:
    loc = where
    if path[-1:] == ("[key]",):  # a mapping's key is wrong, not its value
        path, key = path[:-2], path[-2]
    for part in path:
        loc = f"{loc}[{part}]" if isinstance(part, int) else (f"{loc}.{part}" if loc else str(part))
    if err["loc"][-1:] == ("[key]",):
        loc = f"{loc} (the key {key!r})"
    got: Any  # the value pydantic was given: anything a file can hold
    kind, got, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    expected = ""
    if kind == "extra_forbidden":
        message = "unknown key"
        expected = f"one of: {', '.join(allowed)}" if allowed and len(path) == 1 else ""
    elif kind == "missing":
        message = "required key is missing"
    elif kind == "value_error":
        message = str(ctx.get("error", err["msg"].removeprefix("Value error, ")))
    elif kind in ("too_short", "string_too_short") and isinstance(got, str) and not got.strip():
        message = "is empty"
        expected = "an id or name"
    elif kind in ("too_short", "too_long"):
        bound = ctx.get("min_length", ctx.get("max_length"))
        message = f"has {ctx.get('actual_length', len(got) if hasattr(got, '__len__') else '?')} item(s)"
        expected = f"{'at least' if kind == 'too_short' else 'at most'} {bound}"
    elif kind in _NUMBER_BOUNDS and isinstance(got, float) and not math.isfinite(got):
        message = f"must be a finite number (got {_shown(got)})"
    elif kind in _NUMBER_BOUNDS:
        name, words = _NUMBER_BOUNDS[kind]
        message = f"is out of range (got {_shown(got)})"
        expected = f"a number {words} {ctx.get(name):g}"
    elif kind == "literal_error":
        message = f"is not one of the choices (got {_shown(got)})"
        expected = f"one of: {ctx.get('expected', '')}"
    elif kind == "forms" or kind in _KINDS:
        message = f"{err['msg'] if kind == 'forms' else 'must be ' + _KINDS[kind]} (got {_shown(got)})"
    elif kind in ("finite_number", "float_parsing", "int_parsing", "int_from_float", "bool_parsing"):
        wanted = {"finite_number": "a finite number", "int_from_float": "a whole number",
                  "int_parsing": "a whole number", "bool_parsing": "true or false"}.get(kind, "a number")
        message = f"must be {wanted} (got {_shown(got)})"
    else:  # a kind not translated yet: pydantic's sentence, never its internals
        message = f"{_INTERNALS.sub('', err['msg']).strip()} (got {_shown(got)})"
    return Issue(file, loc or "(top level)", message, expected)


_INTERNALS = re.compile(r"functools\.partial\(.*?\)\(\)|<function [^>]*>|\[type=[^\]]*\]")


def _shown(value: object) -> str:
    """A value as the message echoes it: short, and a list or mapping by its kind."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, bool):
        return str(value).lower()
    if value is None:
        return "nothing (null)"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


S = TypeVar("S", bound=Spec)


class Implementation(Generic[S]):
    """How a spec is carried out: built around one spec object, found by the spec's class.

    Specs live in the scenario layer and say *what*; implementations live in the layers that
    know *how* (``rules``, ``constraints``) and register themselves in an :class:`Implementations`
    table that a lower layer owns, so that layer can use them without importing upwards.
    """

    def __init__(self, spec: S):
        self.spec = spec


Impl = TypeVar("Impl", bound=Implementation)


class Implementations(Generic[Impl]):
    """Spec class -> the implementation registered for it (one each; a second registration raises)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._by_spec: dict[type, type[Impl]] = {}

    def implements(self, spec_class: type[Spec]):
        """Class decorator: register the decorated implementation for ``spec_class``."""
        def register(cls: type[Impl]) -> type[Impl]:
            if spec_class in self._by_spec:
                raise ValueError(f"{self.kind} {spec_class.key!r} has two implementations")
            self._by_spec[spec_class] = cls
            return cls
        return register

    def of(self, spec: Spec) -> Impl:
        """The implementation of ``spec``, built around it."""
        try:
            cls = self._by_spec[type(spec)]
        except KeyError:
            raise TypeError(f"no {self.kind} implementation is registered for {type(spec).__name__} "
                            f"(its module must be imported: import allocator)") from None
        return cls(spec)
