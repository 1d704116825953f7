"""What every analysis returns: one table of fixed columns, its plain data, and the files it keeps.

Every public verb of allocator (``solve``, ``compare``, ``frontier``, ``lottery``, ``bounds``,
``simulate``, ``diagnose``, ``disparity``, ``explain``, ``verify``) returns a frozen object with
the same three members, so a researcher who learned one knows them all:

``table``
    A DataFrame whose columns are fixed by the analysis (documented on its class), one row per
    rule, point, unit, metric... as the analysis is about.
``to_dict()``
    The outcome as plain JSON-ready data (the content of the ``summary.json`` it saves).
``save(folder, *, force=False)``
    Every table as CSV and ``summary.json``, written atomically into ``folder``; an existing
    folder is replaced only with ``force=True`` and only if allocator wrote it, never one
    holding a file the analysis read (:func:`allocator.io.atomic.atomic_folder`).

Metric names are one scheme everywhere (terminal, CSV, Excel, JSON, simulation, bounds): a metric
of one group attribute or resource is ``name[qualifier]`` (:func:`metric_name`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from allocator.core.arguments import Flag, PathLike, checked
from allocator.results.result import save_tables


def metric_name(name: str, qualifier: str | None = None) -> str:
    """The one spelling of a metric of one group attribute or resource: ``name[qualifier]``.

    Examples
    --------
    >>> metric_name("max_group_gap", "region"), metric_name("min_fill_rate")
    ('max_group_gap[region]', 'min_fill_rate')
    """
    return f"{name}[{qualifier}]" if qualifier else name


class Analysis(ABC):
    """Base of the frozen dataclass each analysis returns (see the module docstring).

    A subclass has ``table`` (a field or a property) and ``inputs`` (the paths of the files the
    analysis read: no output may replace them; :attr:`input_paths` where ``inputs`` means more),
    and defines :meth:`to_dict`; it overrides :meth:`tables` when it keeps more than ``table``
    (``FILE`` names that file).
    """

    #: the file ``table`` is saved as
    FILE = "table.csv"

    if TYPE_CHECKING:  # a dataclass field or a property of the subclass (a property here would block the field)
        @property
        def table(self) -> pd.DataFrame: ...

        @property
        def inputs(self) -> tuple[str, ...]: ...

    @property
    def input_paths(self) -> tuple[str, ...]:
        """The files the analysis read (as :attr:`allocator.Result.input_paths`)."""
        return tuple(self.inputs)

    @abstractmethod
    def to_dict(self) -> dict[str, Any]:
        """The outcome as plain data (the content of ``summary.json``)."""

    def tables(self) -> dict[str, pd.DataFrame]:
        """The CSV files :meth:`save` writes, by file name."""
        return {self.FILE: self.table}

    @checked
    def save(self, folder: PathLike, *, force: Flag = False) -> Path:
        """Write :meth:`tables` and ``summary.json`` atomically into ``folder``; return it.

        Raises
        ------
        OutputExistsError
            If ``folder`` exists and ``force`` is false, or holds a file the analysis read.
        """
        save_tables(folder, self.tables(), {"summary.json": self.to_dict()}, force=force, inputs=self.input_paths)
        return Path(folder)
