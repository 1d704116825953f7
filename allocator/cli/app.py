"""The ``allocator`` command line: one thin command per library call.

Exit codes (:mod:`allocator.cli.common`, table in docs/solving.md): 0 solved; 2 invalid input or
usage; 3 infeasible; 4 solver failure or time limit; 5 ``verify`` found changed inputs or
different tables; 6 a simulation worker process died (resumable); 7 allocator's own check failed
(a defect); 130 interrupted; 1 an unexpected error (a defect: please report).

This module builds the typer app and registers the commands of :mod:`allocator.cli.core`,
:mod:`~allocator.cli.accountability`, :mod:`~allocator.cli.tradeoffs` and :mod:`~allocator.cli.simulation`,
each run under :func:`_run`; they share :mod:`~allocator.cli.options` and :mod:`~allocator.cli.common`,
and none of them imports this module or another command module.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from typing import Callable

import typer

from allocator.cli import accountability, core, render, simulation, streams, tradeoffs
from allocator.cli.common import (  # noqa: F401  (every exit code stays importable from here)
    EXIT_INFEASIBLE,
    EXIT_INPUT,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_MISMATCH,
    EXIT_OK,
    EXIT_SOLVER,
    EXIT_WORKER_LOST,
    CommandGroup,
)
from allocator.core.errors import (
    AllocatorError,
    InfeasibleError,
    InternalError,
    Interrupted,
    OutputExistsError,
    ScenarioError,
    SolverError,
    UsageError,
    WorkerLost,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Fair allocation of scarce resources: scenario files in, fair allocations out.")


#: each typed failure's label on the terminal and exit code, most specific class first
FAILURES: tuple[tuple[type | tuple[type, ...], tuple[str, int]], ...] = (
    ((UsageError, OutputExistsError), ("error", EXIT_INPUT)),
    (SolverError, ("solver failure", EXIT_SOLVER)),
    (WorkerLost, ("worker lost", EXIT_WORKER_LOST)),
    (InternalError, ("internal error", EXIT_INTERNAL)),
    (Interrupted, ("interrupted", EXIT_INTERRUPTED)),
    (AllocatorError, ("error", EXIT_INPUT)),
)


def _run(action) -> None:
    """Call ``action`` and turn allocator's typed errors into messages and exit codes.

    Exit codes: 2 bad input or usage, 3 infeasible, 4 solver failure, 6 a simulation worker process
    died (resumable), 7 allocator's own check failed (a defect: please report), 130 interrupted.
    A message naming a library parameter (``force=True``) names its option here (``--force``).
    """
    options = {"force": "--force", "resume": "--resume", "time_limit": "--time-limit", "solver": "--solver",
               "allow_outside": "--allow-outside", "cv": "--cv"}

    def option(parameter) -> str:
        """``force=True`` as ``--force``, ``solver="pulp"`` as ``--solver pulp``; a parameter without an
        option keeps the library's spelling."""
        flag = options.get(parameter.name)
        if flag is None:
            return str(parameter)
        return flag if parameter.value is None or parameter.value is True else f"{flag} {parameter.value}"

    try:
        action()
    except ScenarioError as exc:
        render.scenario_error(exc.respelled(option))
        raise typer.Exit(EXIT_INPUT) from None
    except InfeasibleError as exc:
        render.infeasible(exc.respelled(option))
        raise typer.Exit(EXIT_INFEASIBLE) from None
    except AllocatorError as exc:  # the first matching class of FAILURES (most specific first) says how
        label, code = next(how for cls, how in FAILURES if isinstance(exc, cls))
        render.failure(label, exc.spelled(option))
        raise typer.Exit(code) from None
    except OSError as exc:
        where = f" ({exc.filename})" if exc.filename else ""
        render.failure("error", f"cannot read or write a file{where}: {exc.strerror or exc}")
        raise typer.Exit(EXIT_INPUT) from None
    except KeyboardInterrupt:
        render.failure("interrupted", "nothing was written")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def _guarded(command: Callable[..., None]) -> Callable[..., None]:
    """``command`` run by :func:`_run`; typer reads its name, options and help through ``functools.wraps``."""

    @functools.wraps(command)
    def guarded(*args, **kwargs) -> None:
        _run(lambda: command(*args, **kwargs))

    return guarded


def _register(*groups: CommandGroup) -> None:
    """Put each group's commands on ``app``, in order: the order ``allocator --help`` lists them."""
    for group in groups:
        for command, under_run in group.commands:
            app.command()(_guarded(command) if under_run else command)


_register(core.commands, accountability.commands, tradeoffs.commands, simulation.commands)


def main() -> None:
    """Console entry point."""
    # Everything imported so far lives until exit: moving it out of the collector's sight saves
    # every later collection, and the one at exit, from walking it again (~0.1 s per command).
    gc.freeze()
    streams.settle_process_streams()  # a closed stdout, a reader gone, an ASCII terminal: never a failure
    try:
        app(standalone_mode=True)
    except SystemExit:
        raise
    except AllocatorError as exc:  # raised outside a command, e.g. the help text on a full disk
        render.failure("error", str(exc))
        sys.exit(EXIT_INPUT)
    except Exception as exc:  # a bug, not bad input: one line, the traceback only on request
        if os.environ.get("ALLOCATOR_DEBUG"):
            raise
        render.failure("internal error", f"{type(exc).__name__}: {exc} (set ALLOCATOR_DEBUG=1 for the traceback "
                                         "and please report it)")
        sys.exit(1)
