"""The one way a Brook job starts and ends: exit codes that mean the same everywhere, and a JSON summary line.

Exit codes: 0 done, 1 a dependency failed (broker, database or object store unreachable, or the job's own check
failed), 2 bad configuration (the message names the ``BROOK_*`` variable and the fix). Jobs that report counts end
with one machine-readable line, ``{"brook_summary": "<job>", ...}``; demos, the benchmark and tests read that
line (:func:`read_summary`), never the human progress text.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, NoReturn

from jobs.common.settings import ConfigError

SUMMARY_KEY = "brook_summary"


def summary(job: str, **counts: Any) -> None:
    """Print the job's JSON summary line (values that are not JSON types are written as text)."""
    print(json.dumps({SUMMARY_KEY: job, **counts}, default=str, separators=(",", ":")), flush=True)


def read_summary(output: str, job: str) -> dict[str, Any]:
    """The last summary line of ``job`` in a process's output; LookupError if it never printed one."""
    for line in reversed(output.splitlines()):
        if line.startswith("{") and SUMMARY_KEY in line:
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict) and found.get(SUMMARY_KEY) == job:
                return found
    raise LookupError(f"no {job} summary line in the output")


def _is_connection_error(err: BaseException) -> bool:
    """Unreachable infrastructure, whichever client saw it (imports are lazy: not every image has every client)."""
    kinds: list[type[BaseException]] = [ConnectionError, TimeoutError]
    try:
        from kafka.errors import KafkaConnectionError, NoBrokersAvailable

        kinds += [NoBrokersAvailable, KafkaConnectionError]
    except ImportError:
        pass
    try:
        import psycopg2

        kinds.append(psycopg2.OperationalError)
    except ImportError:
        pass
    try:
        from botocore.exceptions import EndpointConnectionError

        kinds.append(EndpointConnectionError)
    except ImportError:
        pass
    return isinstance(err, tuple(kinds))


def exit_code(main: Callable[[], int], name: str) -> int:
    """``main()``'s exit code, with a configuration error → 2 and an unreachable service → 1 (message on stderr)."""
    try:
        return main()
    except ConfigError as err:
        print(f"{name}: configuration error: {err}", file=sys.stderr)
        return 2
    except Exception as err:
        if not _is_connection_error(err):
            raise
        print(f"{name}: a service is unreachable ({type(err).__name__}: {err}); is it up?", file=sys.stderr)
        return 1


def _metered(main: Callable[[], int]) -> int:
    """``main()`` with the process's metrics exposed as BROOK_METRICS_* say (jobs/common/metrics.py)."""
    try:
        from jobs.common.metrics import exported
    except ImportError:  # an image without prometheus-client (the Flink job image): fine while metrics are off
        if os.environ.get("BROOK_METRICS_PORT", "0") not in ("", "0") or os.environ.get("BROOK_METRICS_TEXTFILE"):
            raise ConfigError("BROOK_METRICS_* is set but prometheus-client is not installed in this image.") from None
        return main()
    with exported():
        return main()


def run(main: Callable[[], int], name: str) -> NoReturn:
    """Run ``main`` as a process entry point and leave with its exit code (see :func:`exit_code`).

    Leaves through ``os._exit`` after flushing: pyarrow's and the Kafka client's background threads have been seen
    to abort the interpreter at shutdown ("terminate called…"), turning a finished job into exit code -6. PyFlink
    jobs use :func:`exit_code` with ``sys.exit`` instead, so that PyFlink's own exit hooks stop its gateway JVM.
    """
    code = exit_code(lambda: _metered(main), name)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
