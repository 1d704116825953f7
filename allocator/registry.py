"""Named registries for rules and constraints: one name, one class, shared by YAML, CLI and API."""

from __future__ import annotations

from typing import Any, ClassVar, Generic, Iterable, Iterator, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from allocator.errors import Issue

T = TypeVar("T", bound="Spec")


class Spec(BaseModel):
    """Base of rules and constraints: small, frozen, keyword-only, strictly validated."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    #: registry key (``maxmin``, ``group_gap``...), set by each subclass
    key: ClassVar[str] = ""
    #: one line for ``allocator rules``
    summary: ClassVar[str] = ""

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
            return spec, []  # type: ignore[return-value]
        if isinstance(spec, str):
            spec = {self.name_field: spec}
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
