"""Standard streams the CLI can always write to: closed, a pipe whose reader left, or an ASCII terminal.

The output files are the job; what is printed is a courtesy. So a missing or closed stream, or a
pipe whose reader has gone (``allocator rules | head -1``), drops what is printed and the command
goes on; a character the stream's encoding cannot show is written as an ASCII stand-in (``—`` as
``-``) or an escape (``\\xfc``). Any other failure to write (``> /dev/full``) is an
:class:`~allocator.core.errors.OutputWriteError` naming the stream.
"""

from __future__ import annotations

import contextlib
import errno
import io
import os
import sys
from typing import Callable, TextIO

from allocator.core.errors import OutputWriteError

#: typographic characters allocator prints, and what an ASCII-only stream shows instead
ASCII_STAND_INS = str.maketrans({"—": "-", "–": "-", "‘": "'", "’": "'", "“": '"', "”": '"', "≥": ">=", "≤": "<=",
                                 "×": "x", "…": "...", "→": "->", "−": "-", "±": "+/-", "•": "*", "≈": "~"})
#: write failures that mean nobody is reading: drop the output, keep working (not EBADF: closed
#: descriptors are reserved on the null device at start, so EBADF is a stream opened for reading,
#: and what was asked for would be lost in silence)
_GONE = (errno.EPIPE, errno.ECONNRESET)


def encodable(text: str, encoding: str) -> str:
    """``text`` as ``encoding`` can write it: ASCII stand-ins first, then backslash escapes.

    >>> encodable("north — south ≥ 0.5, Zürich", "ascii")
    'north - south >= 0.5, Z\\\\xfcrich'
    """
    try:
        text.encode(encoding)
        return text
    except UnicodeEncodeError:
        return text.translate(ASCII_STAND_INS).encode(encoding, "backslashreplace").decode(encoding)
    except LookupError:  # an encoding Python does not know: nothing better to do than try
        return text


class TolerantStream:
    """A text stream that never fails because of where it points (see the module docstring).

    Parameters
    ----------
    source : callable
        Returns the stream to write to at each call, so a stream swapped later (a test runner's
        capture) is followed; ``None`` when there is none (Python found the descriptor closed).
    name : str
        What an error calls the stream, e.g. ``"standard output"``.
    fatal : bool
        Whether a failure other than a reader gone raises :class:`OutputWriteError`; ``False`` for
        standard error, which is where that error would be shown: its failures are dropped, and
        the command keeps its own exit code.
    """

    def __init__(self, source: Callable[[], TextIO | None], name: str, *, fatal: bool = True):
        self._source = source
        self._name = name
        self._fatal = fatal
        self._gone: object = None  # the stream whose reader left, so a new one (a new capture) is used again

    def _target(self) -> TextIO | None:
        stream = self._source()
        return None if stream is None or stream is self._gone else stream

    @property
    def encoding(self) -> str:
        return getattr(self._target(), "encoding", None) or "utf-8"

    def isatty(self) -> bool:
        try:
            return bool(self._target() and self._target().isatty())
        except (OSError, ValueError):
            return False

    def fileno(self) -> int:
        stream = self._target()
        if stream is None:
            raise io.UnsupportedOperation(f"no {self._name}")
        return stream.fileno()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        stream = self._target()
        if stream is not None:
            self._guarded(stream, lambda: stream.write(encodable(text, self.encoding)))
        return len(text)

    def flush(self) -> None:
        stream = self._target()
        if stream is not None:
            self._guarded(stream, stream.flush)

    def __getattr__(self, name: str):  # buffer, mode, errors...: the real stream's, when there is one
        stream = self._target()
        if stream is None:
            raise AttributeError(name)
        return getattr(stream, name)

    def _guarded(self, stream: TextIO, call: Callable[[], object]) -> None:
        try:
            call()
        except ValueError:  # "I/O operation on closed file"
            self._give_up(stream)
        except OSError as exc:
            if exc.errno not in _GONE and self._fatal:
                raise OutputWriteError(self._name, exc.strerror or str(exc)) from exc
            self._give_up(stream)

    def _give_up(self, stream: TextIO) -> None:
        """Write nothing more to ``stream``; point its descriptor at the null device, so that the
        interpreter's last flush at exit finds nobody gone and stays quiet."""
        self._gone = stream
        with contextlib.suppress(OSError, ValueError, AttributeError, io.UnsupportedOperation):
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, stream.fileno())
            os.close(null)


#: what an error calls each stream
_SHOWN = {"stdout": "standard output", "stderr": "standard error"}


def standard(name: str) -> TolerantStream:
    """``sys.stdout`` or ``sys.stderr`` (``name``), looked up at each write, made tolerant."""
    return TolerantStream(lambda: getattr(sys, name, None), _SHOWN[name], fatal=name != "stderr")


def reserve_standard_descriptors() -> None:
    """Point a closed descriptor 0, 1 or 2 at the null device.

    Otherwise the next file opened takes the free number, and whatever writes to "standard
    output" at the C level (a solver's banner) would write into an output file.
    """
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: this one
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def settle_process_streams() -> None:
    """For the console command: reserve closed descriptors and make ``sys.stdout`` and ``sys.stderr``
    tolerant, so that nothing printed, by allocator or by a library it calls, can stop a run."""
    reserve_standard_descriptors()
    for name, shown in _SHOWN.items():
        original = getattr(sys, name)
        setattr(sys, name, TolerantStream(lambda original=original: original, shown, fatal=name != "stderr"))
