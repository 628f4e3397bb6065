"""Puts back `celery.backends.database.retry` for the Celery provider, in the Celery stack's processes only.

The locked apache-airflow-providers-celery 3.26.0 imports the `retry` decorator that celery 5.7.0 (also
locked) no longer has, so `airflow celery worker` and the CeleryExecutor fail at import. The stack puts
this folder first on PYTHONPATH; Python imports this module at start-up, and it adds a decorator of the
same meaning (retry a result-backend query a few times on database errors) once celery's module is
imported. Nothing is imported before that. Drop this folder when the lock pairs versions that agree.
"""

from __future__ import annotations

import functools
import importlib.machinery
import logging
import sys
from collections.abc import Callable
from typing import Any

TARGET = "celery.backends.database"
ATTEMPTS = 3


def retry_on_database_errors(function: Callable[..., Any]) -> Callable[..., Any]:
    """Run `function` again (up to ATTEMPTS in all) when the result backend's database errs."""
    from sqlalchemy.exc import DatabaseError, InvalidRequestError
    from sqlalchemy.orm.exc import StaleDataError

    @functools.wraps(function)
    def attempts(*args: Any, **kwargs: Any) -> Any:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return function(*args, **kwargs)
            except (DatabaseError, InvalidRequestError, StaleDataError):
                if attempt == ATTEMPTS:
                    raise
                logging.getLogger(TARGET).warning("%s failed; trying again", function.__name__, exc_info=True)
        raise AssertionError("unreachable")

    return attempts


class _AddRetry:
    """A meta path finder that only wraps the loading of TARGET."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != TARGET:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None:
            return spec
        load = spec.loader.exec_module

        def exec_module(module: Any) -> None:
            load(module)
            if not hasattr(module, "retry"):
                module.retry = retry_on_database_errors

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


sys.meta_path.insert(0, _AddRetry())
