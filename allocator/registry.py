"""Named registries for rules and constraints: one name, one class, shared by YAML, CLI and API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, Iterable, Iterator, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from allocator.errors import Issue, UsageError

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


class Spec(BaseModel):
    """Base of rules and constraints: small, frozen, keyword-only, strictly validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: registry key (``maxmin``, ``group_gap``...), set by each subclass
    key: ClassVar[str] = ""
    #: one line for ``allocator rules``
    summary: ClassVar[str] = ""

    @model_validator(mode="after")
    def _read_only(self):
        for name in type(self).model_fields:
            object.__setattr__(self, name, freeze(getattr(self, name)))
        return self

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False):
        """A copy with ``update`` applied, validated like the original (pydantic's own skips validation)."""
        if not update:
            return self
        try:
            return type(self).model_validate({**dict(self), **update})
        except ValidationError as exc:
            raise UsageError(_joined(issues_from_validation(exc, file="<argument>", where=self.key))) from None

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
            return spec, []  # type: ignore[return-value]
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
        parsed, issues = [], []
        for k, spec in enumerate(specs):
            item, found = self.coerce(spec, where=f"{where}[{k}]")
            parsed.append(item)
            issues += found
        if issues:
            raise UsageError(_joined(issues))
        return tuple(parsed)


def _joined(issues: list[Issue]) -> str:
    return "; ".join(f"{i.location}: {i.message}" + (f" (expected {i.expected})" if i.expected else "")
                     for i in issues)


def parse_spec(text: str, name_field: str) -> dict:
    """``"maxmin"``, ``"maxmin:over=region"``, ``"floor:share=0.2"`` or a YAML flow mapping -> dict."""
    text = text.strip()
    if text.startswith("{"):
        try:
            spec = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"cannot read {text!r}: {exc}") from None
        if not isinstance(spec, dict):
            raise UsageError(f"{text!r} is not a mapping")
        return spec
    name, _, rest = text.partition(":")
    spec: dict = {name_field: name.strip()}
    for item in filter(None, (p.strip() for p in rest.split(","))):
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"in {text!r}: expected key=value, got {item!r}")
        spec[key.strip()] = _number_or_text(value.strip())
    return spec


def parse_spec_list(text: str, name_field: str) -> list:
    """``"utilitarian,maxmin:over=region,alpha:alpha=2,nash"`` or ``"[{name: alpha, alpha: 2}, nash]"`` -> specs.

    A comma starts a new spec unless what follows is another ``key=value`` of the previous one.
    """
    text = text.strip()
    if text.startswith("["):
        try:
            items = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise UsageError(f"cannot read {text!r}: {exc}") from None
        return [item if isinstance(item, dict) else parse_spec(str(item), name_field) for item in items or []]
    parts: list[str] = []
    for piece in (p.strip() for p in text.split(",")):
        if parts and "=" in piece and ":" not in piece:
            parts[-1] += "," + piece
        elif piece:
            parts.append(piece)
    return [parse_spec(part, name_field) for part in parts]


def _number_or_text(value: str) -> float | str:
    """``share=0.2`` is a number; ``attribute=no`` stays the text 'no' (not YAML's false)."""
    try:
        return float(value)
    except ValueError:
        return value


def issues_from_validation(
    exc: ValidationError, *, file: str, where: str, allowed: Iterable[str] = ()
) -> list[Issue]:
    """Translate pydantic's errors into :class:`Issue` objects with a readable location.

    ``allowed`` lists the valid keys at the top level, named when an unknown key is found.
    """
    issues = []
    for err in exc.errors():
        loc = where
        for part in err["loc"]:
            loc = f"{loc}[{part}]" if isinstance(part, int) else (f"{loc}.{part}" if loc else str(part))
        message, expected = err["msg"].removeprefix("Value error, "), ""
        if err["type"] == "extra_forbidden":
            message = "unknown key"
            expected = f"one of: {', '.join(allowed)}" if allowed and len(err["loc"]) == 1 else ""
        elif err["type"] == "missing":
            message = "required key is missing"
        got = err.get("input")
        if err["type"] not in ("missing", "extra_forbidden", "value_error") and not isinstance(got, (dict, list)):
            message = f"{message} (got {got!r})"
        issues.append(Issue(file, loc or "(top level)", message, expected))
    return issues
