"""Scalars as the planner wrote them, and the field types that read them strictly.

A scenario file's numbers are also its ids: ``id: 02134`` is a ZIP code, not 2134. The YAML
loader therefore gives every plain number a :class:`WrittenInt` or :class:`WrittenFloat`: a
number for numeric fields, its source text (``str()``) for id and name fields. Numeric fields
take numbers only: a YAML ``true`` or a quoted ``"10"`` is a mistake, never 1 or 10.
"""

from __future__ import annotations

from typing import Annotated, Callable, Self

from pydantic import BeforeValidator, Field


class _Written:
    """A number that remembers the text it was written as: the number for arithmetic, ``str()`` the text."""

    text: str
    _number: type  # int or float, set by each subclass

    def __new__(cls, value: float, text: str) -> Self:
        new: Callable[..., Self] = super().__new__  # int's or float's: each subclass lists one after this mixin
        number = new(cls, value)
        number.text = text
        return number

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:  # messages echo the value as written
        return self.text

    def __reduce__(self):
        return (type(self), (self._number(self), self.text))


class WrittenInt(_Written, int):
    """An integer that remembers its text: ``int()`` is the number, ``str()`` what the file says.

    >>> zip_code = WrittenInt(2134, "02134")
    >>> zip_code + 1, str(zip_code)
    (2135, '02134')
    """

    _number = int


class WrittenFloat(_Written, float):
    """A float that remembers its text (``1.50``, ``1e6``); see :class:`WrittenInt`."""

    _number = float


def written_text(value: object) -> str:
    """Ids and names are text: a number read from a file is its text, a whole number in code its digits.

    Anything else (``true``, ``null``, a date, a list) is refused with a message that says what was seen.
    """
    if isinstance(value, (WrittenInt, WrittenFloat)):
        return value.text
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        raise ValueError(f"got the yes/no value {str(value).lower()}; an id or name is text (quote it: "
                         f"'{str(value).lower()}')")
    if isinstance(value, int):
        return str(value)
    if value is None:
        raise ValueError("got nothing (null or ~); an id or name is text")
    raise ValueError(f"got {type(value).__name__} {value!r}; an id or name is text or a whole number")


def no_text_or_bool(value: object) -> object:
    """Numbers only: pydantic's lax mode would read ``true`` as 1 and ``"10"`` as 10."""
    if isinstance(value, bool):
        raise ValueError(f"got the yes/no value {str(value).lower()}; a number was expected")
    if isinstance(value, str):
        raise ValueError(f"got the text {value!r}; a number was expected (without quotes, no thousands separators)")
    return value


def _stripped_text(value: object) -> str:
    return written_text(value).strip()


#: an id or a name (resource, site, unit, group attribute or label...): the text written, stripped, never empty
Identifier = Annotated[str, BeforeValidator(_stripped_text), Field(min_length=1)]
#: a name that refers to something else (a group attribute, a resource, a column): text as written
Name = Annotated[str, BeforeValidator(written_text)]
#: a finite number, never a yes/no value or text
Number = Annotated[float, BeforeValidator(no_text_or_bool), Field(allow_inf_nan=False)]
#: a whole number (``30`` or ``30.0``), never a yes/no value or text
Count = Annotated[int, BeforeValidator(no_text_or_bool)]
