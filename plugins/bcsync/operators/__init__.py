"""bcsync's Airflow operators: one per step of a synchronization, and the task group that wires them.

```python
from airflow.sdk import DAG
from bcsync.operators import IntegrationSyncTaskGroup

with DAG("sync_vendors", schedule="*/30 * * * *"):
    IntegrationSyncTaskGroup("VENDOR", bc_conn_id="bc_eu", dataverse_conn_id="crm_eu")
```
"""

from bcsync.operators.base import IntegrationStepOperator
from bcsync.operators.couple import CoupleOperator
from bcsync.operators.extract import ExtractOperator
from bcsync.operators.job_status import JobStatusOperator
from bcsync.operators.load import LoadOperator, RecordFailures
from bcsync.operators.params import sync_params
from bcsync.operators.plan import PlanOperator
from bcsync.operators.record_job import RecordJobOperator
from bcsync.operators.task_group import IntegrationSyncTaskGroup

__all__ = [
    "CoupleOperator",
    "ExtractOperator",
    "IntegrationStepOperator",
    "IntegrationSyncTaskGroup",
    "JobStatusOperator",
    "LoadOperator",
    "PlanOperator",
    "RecordFailures",
    "RecordJobOperator",
    "sync_params",
]
