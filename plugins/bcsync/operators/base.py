"""What every bcsync step operator shares: the mapping it syncs, the connections and the staging area,
the run it belongs to, and how its failures reach Airflow.

DAG files import this module, so it imports only Airflow's Task SDK and bcsync's light modules; the
pipeline (pandas, the hooks, the store) is imported when a task runs.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowFailException

from bcsync.pools import slots_held
from bcsync.process_memory import peak_rss_mb, reset_peak_rss, rss_mb, use_system_allocator_for_arrow

if TYPE_CHECKING:
    from airflow.sdk import Context, ObjectStoragePath

    from bcsync.pipeline.context import RunContext
    from bcsync.pipeline.services import Services
    from bcsync.registry.model import IntegrationTableMapping

log = logging.getLogger(__name__)

# The line each task logs last: how long bcsync's own code took, wall clock and this process's CPU, and
# the task's peak resident memory with what the process held when the task began
# ("bcsync code time: CUSTOMER extract 0.412 s, cpu 0.305 s, peak rss 402 MB, 250 MB at start");
# benchmarks split Airflow's time from ours and find each task's memory.
TIME_MARKER = "bcsync code time"
DEFAULT_STORE_CONN_ID = "bcsync_store"


@dataclass(frozen=True)
class Step:
    """What a step operator's task works with: its mapping, the run, the services and its staging folder."""

    mapping: IntegrationTableMapping
    run: RunContext
    services: Services
    folder: ObjectStoragePath
    context: Context


class IntegrationStepOperator(BaseOperator):
    """Base of bcsync's step operators; each runs one step of one integration table mapping.

    :param mapping: the integration table mapping, by name (looked up in the mapping registry when the
        task runs) or as an `IntegrationTableMapping` object.
    :param bc_conn_id: Airflow Connection of Business Central (`bc_default`).
    :param dataverse_conn_id: Airflow Connection of Dataverse (`dataverse_default`).
    :param store_conn_id: Airflow Connection of the coupling store (`bcsync_store`). Couplings,
        watermarks and errors are kept per mapping name: give each pair of environments its own store.
    :param staging_url: where steps stage their frames (any fsspec URL); default `$BCSYNC_STAGING_URL`,
        else `$AIRFLOW_HOME/bcsync-staging`.

    What kind of run it is (scheduled, full synchronization, Synchronize Now, backfill, dry run) comes
    from the DAG run: its Params `full_sync`, `record_ids`, `direction`, `dry_run` and its run type.
    """

    template_fields: Sequence[str] = ("mapping_name", "bc_conn_id", "dataverse_conn_id", "store_conn_id")
    ui_color = "#e8f1fb"
    step_name: ClassVar[str] = ""  # in the timing line each task logs last

    def __init__(
        self,
        *,
        mapping: str | IntegrationTableMapping,
        bc_conn_id: str = "bc_default",
        dataverse_conn_id: str = "dataverse_default",
        store_conn_id: str = DEFAULT_STORE_CONN_ID,
        staging_url: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mapping_name = mapping if isinstance(mapping, str) else mapping.name
        self._mapping = None if isinstance(mapping, str) else mapping
        self.bc_conn_id = bc_conn_id
        self.dataverse_conn_id = dataverse_conn_id
        self.store_conn_id = store_conn_id
        self.staging_url = staging_url

    def execute(self, context: Context) -> Any:
        from bcsync.pipeline import service_facts
        from bcsync.pipeline.context import RunContext
        from bcsync.pipeline.services import Services
        from bcsync.pipeline.staging import run_folder, staging_root

        use_system_allocator_for_arrow()
        reset_peak_rss()
        rss_at_start = rss_mb()
        started = time.perf_counter()
        cpu_started = time.process_time()
        try:
            run = RunContext.from_airflow(context)
            services = Services(
                bc_conn_id=self.bc_conn_id,
                dataverse_conn_id=self.dataverse_conn_id,
                store_conn_id=self.store_conn_id,
                max_in_flight=slots_held(self),
            )
            try:
                mapping = self._mapping or _registered(services, self.mapping_name)
                folder = run_folder(run.dag_id, run.run_id, mapping.name, staging_root(self.staging_url))
                # Answers an earlier task of the run got from Dataverse (bulk messages, BC's company row).
                recalled = service_facts.recall(folder, services)
                try:
                    return self.run_step(Step(mapping, run, services, folder, context))
                finally:
                    service_facts.keep(folder, services, recalled)
            finally:
                services.close()
        except AirflowFailException:
            raise
        except Exception as error:
            if _cannot_succeed_on_retry(error):
                # Same request, same answer: retrying would only delay the message the user needs.
                raise AirflowFailException(f"{type(error).__name__}: {error}") from error
            raise
        finally:
            log.info(
                "%s: %s %s %.3f s, cpu %.3f s, peak rss %s MB, %s MB at start",
                TIME_MARKER,
                self.mapping_name,
                self.step_name,
                time.perf_counter() - started,
                time.process_time() - cpu_started,
                _megabytes(peak_rss_mb()),
                _megabytes(rss_at_start),
            )

    def run_step(self, step: Step) -> Any:
        """The step's work; its return value is the task's XCom."""
        raise NotImplementedError


def _megabytes(value: float | None) -> str:
    return "?" if value is None else f"{value:.0f}"


def _registered(services: Services, name: str) -> IntegrationTableMapping:
    try:
        return services.registry.get(name)
    except KeyError as unknown:
        raise AirflowFailException(str(unknown).strip("\"'")) from unknown


def _cannot_succeed_on_retry(error: Exception) -> bool:
    """Errors no task retry can fix: the connection or the mapping is wrong, or the service refused a
    query or our credentials (a 4xx that escaped the per-record handling)."""
    from bcsync.registry.errors import RegistryError
    from bcsync.wire.errors import AuthenticationFailed, ConfigurationError, RecordRejected

    return isinstance(error, AuthenticationFailed | ConfigurationError | RecordRejected | RegistryError)
