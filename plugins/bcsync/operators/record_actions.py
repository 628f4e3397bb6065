"""The operators of BC's manual record actions: couple, match-based coupling, uncouple, delete coupling,
delete coupled record, create new, restore and synchronize now, each on records named as admins know them.

```python
UncoupleRecordsOperator(task_id="uncouple", mapping="CUSTOMER", records=["C00010"])
CoupleRecordsOperator(task_id="couple", mapping="CUSTOMER", records=["C00010"], counterpart="Adatum",
                      synchronize_after=True, direction="ToIntegrationTable")
```

Without `records` (or an option), the operator reads it from the DAG run's Params: the action DAGs
(`dags/bcsync_actions.py`) are built that way. Each returns the run's `JobResult` (counters per
direction, and what it did in BC's words), which the run note shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

from airflow.sdk.exceptions import AirflowFailException

from bcsync.actions.catalog import ACTION_TASK_ID, OPTIONS, ActionError, action_request
from bcsync.operators.base import IntegrationStepOperator, Step
from bcsync.results import JobResult

JOB_PARAM = "{{ params.job }}"


class RecordActionOperator(IntegrationStepOperator):
    """Base of the record-action operators; `action` names the action in `bcsync.actions.catalog`.

    :param mapping: the job (mapping name); default: the DAG run's `job` Param.
    :param records: BC numbers/codes, Sales names/numbers or ids; default: the `records` Param.
    Further keyword arguments named like the action's options (`counterpart`, `side`, ...) fix them.
    """

    action: ClassVar[str] = ""
    template_fields: Sequence[str] = (*IntegrationStepOperator.template_fields, "records", "options")

    def __init__(self, *, mapping: Any = JOB_PARAM, records: list[str] | str | None = None, **kwargs: Any):
        options = {name: kwargs.pop(name) for name in list(kwargs) if name in OPTIONS[self.action]}
        kwargs.setdefault("task_id", ACTION_TASK_ID)
        super().__init__(mapping=mapping, **kwargs)
        self.records = records
        self.options = options

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.step_name = cls.action  # in the timing line the task logs last

    def run_step(self, step: Step) -> JobResult:
        from bcsync.actions.dispatch import run_action
        from bcsync.pipeline.staging import staging_root

        params = step.context.get("params") or {}
        records = self.records if self.records is not None else params.get("records")
        options = {
            name: params[name] for name in OPTIONS[self.action] if params.get(name) not in (None, "", [])
        }
        options.update(self.options)
        try:
            _, conf = action_request(self.action, step.mapping.name, records, **options)
        except ActionError as refused:
            raise AirflowFailException(str(refused)) from refused
        checked = {k: v for k, v in conf.items() if k not in ("job", "records", "record_ids")}
        selected = conf.get("records", conf.get("record_ids"))
        return run_action(
            self.action,
            step.mapping,
            step.run,
            step.services,
            selected,
            checked,
            staging_root(self.staging_url),
        )


class CoupleRecordsOperator(RecordActionOperator):
    """BC's Set Up Coupling: one record to one of the other side (`counterpart`), optionally synchronized
    after coupling in `direction`."""

    action = "couple"


class MatchBasedCouplingOperator(RecordActionOperator):
    """BC's Match-Based Coupling of BC records: `match_fields`, `case_sensitive`, `create_new_if_no_match`,
    `synchronize_after`."""

    action = "match_couple"


class UncoupleRecordsOperator(RecordActionOperator):
    """BC's Uncouple (with the Sales company reset where the mapping has BC's company filter)."""

    action = "uncouple"


class DeleteCouplingOperator(RecordActionOperator):
    """Delete the couplings of the records; both records stay."""

    action = "delete_coupling"


class DeleteCoupledRecordOperator(RecordActionOperator):
    """Delete the `side` record coupled to each record, and the coupling."""

    action = "delete_coupled_record"


class CreateNewRecordsOperator(RecordActionOperator):
    """BC's Create New in Sales (`side="bc"`) / in BC (`side="crm"`) for uncoupled records."""

    action = "create_new"


class RestoreRecordsOperator(RecordActionOperator):
    """Restore skipped records; a deleted counterpart is created again."""

    action = "restore"


class SynchronizeNowOperator(RecordActionOperator):
    """BC's Synchronize Now: the records, forced, in `direction` (default both); clears Skipped."""

    action = "synchronize_now"


ACTION_OPERATORS: dict[str, type[RecordActionOperator]] = {
    cls.action: cls
    for cls in (
        CoupleRecordsOperator,
        MatchBasedCouplingOperator,
        UncoupleRecordsOperator,
        DeleteCouplingOperator,
        DeleteCoupledRecordOperator,
        CreateNewRecordsOperator,
        RestoreRecordsOperator,
        SynchronizeNowOperator,
    )
}
