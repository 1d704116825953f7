"""``scipy.sparse``, imported on first use.

Importing it costs about 0.1 s (scipy pulls in parts of numpy it does not otherwise need), which
``allocator validate`` would pay without ever touching a sparse matrix. Every module imports it
from here; the first attribute access does the real import.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import TYPE_CHECKING, TypeAlias


def _lazy(name: str) -> ModuleType:
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.loader is not None  # scipy is a dependency
    loader = importlib.util.LazyLoader(spec.loader)
    spec.loader = loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


if TYPE_CHECKING:  # the type checker reads scipy.sparse's stubs
    import scipy.sparse as sparse
    from scipy.sparse._base import _spbase

    #: any sparse matrix or array: the base class of them all (what ``scipy.sparse.issparse`` checks)
    SparseMatrix: TypeAlias = _spbase
else:
    sparse = _lazy("scipy.sparse")
