"""What the CLI commands share beyond their options: exit codes, how a module declares its commands,
and the load / check / write / show steps of a command.

Imports none of the command modules: they, and ``app``, import this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable

import allocator
from allocator.cli import render
from allocator.io.atomic import check_output_folder

EXIT_OK, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_SOLVER, EXIT_MISMATCH = 0, 2, 3, 4, 5
EXIT_WORKER_LOST, EXIT_INTERNAL, EXIT_INTERRUPTED = 6, 7, 130


class CommandGroup:
    """The commands one module defines, in order, for ``app`` to register on the typer app.

    ``@commands.command()`` reads as typer's ``@app.command()``: a command's name, options and help
    come from its function as they would there. ``app`` runs each command under its error handling
    (allocator's typed errors become messages and exit codes) unless it says ``guarded=False``.
    """

    def __init__(self) -> None:
        #: ``(function, guarded)``, in the order the commands are listed by ``allocator --help``
        self.commands: list[tuple[Callable[..., None], bool]] = []

    def command(self, *, guarded: bool = True) -> Callable[[Callable[..., None]], Callable[..., None]]:
        def declare(function: Callable[..., None]) -> Callable[..., None]:
            self.commands.append((function, guarded))
            return function

        return declare


def check_folder(out: Path | None, force: bool, scenario: Path) -> None:
    """Refuse an existing output folder (unless ``--force``, and never one holding the scenario or
    anything allocator did not write) before any work is done."""
    if out is not None:
        check_output_folder(out, force=force, inputs=[scenario])


def load_checked(scenario: Path, allow_outside: bool, out: Path | None = None, force: bool = False):
    """The scenario, loaded; then, before any work, the output checked against every file it read
    (a table inside the output folder must not be replaced)."""
    loaded = allocator.load_scenario(scenario, allow_outside=allow_outside)
    if out is not None:
        check_output_folder(out, force=force, inputs=loaded.input_paths)
    return loaded


def save_and_show(result, out: Path | None, force: bool, show) -> None:
    """Write ``result`` (an analysis' outcome) with its ``save`` when there is an output folder (never over
    a file it read), show it, then name the folder."""
    if out is not None:
        result.save(out, force=force)
    show(result)
    if out is not None:
        render.written(out)
