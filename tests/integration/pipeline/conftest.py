"""One sandbox per session, reset before each test, a fresh coupling store and staging area per test,
and a harness that runs jobs through them."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk import ObjectStoragePath

from bcsync.engine.model import Side
from bcsync.pipeline.context import RunContext, RunKind
from bcsync.pipeline.load import load
from bcsync.pipeline.runner import run_job
from bcsync.pipeline.services import Services
from bcsync.pipeline.specs import passes
from bcsync.pipeline.staging import run_folder
from bcsync.results import LoadResult, PassPlan, PlanResult, StagedFrame
from bcsync_dev.sandbox_connections import sandbox_connections
from sandbox.dataverse import SCHEMAS as DATAVERSE_SCHEMAS
from sandbox.launcher import RunningSandbox, running_sandbox
from sandbox.storage.database import Database
from sandbox.storage.repository import Repository


def staged_plan(mapping, run: RunContext, staging: ObjectStoragePath) -> tuple[ObjectStoragePath, PlanResult]:
    """The run's staging folder and its plan step's result, as the load task receives them."""
    folder = run_folder(run.dag_id, run.run_id, mapping.name, staging)
    planned = PlanResult(
        passes={
            sync_pass.value: PassPlan(plan=StagedFrame(url=str(folder / f"plan_{sync_pass.value}"), rows=0))
            for sync_pass in passes(mapping, run.direction)
        }
    )
    return folder, planned


@dataclass
class SyncHarness:
    """Runs bcsync jobs against one sandbox, and plays the users who edit records on either side."""

    sandbox: RunningSandbox
    services: Services
    staging: ObjectStoragePath
    _runs: itertools.count = field(default_factory=lambda: itertools.count(1))
    monkeypatch: pytest.MonkeyPatch | None = None
    edit_mappings: Callable[..., Path] | None = None  # the root conftest's fixture
    last_runs: dict[str, RunContext] = field(default_factory=dict)

    def run(self, job: str, kind: RunKind = RunKind.SCHEDULED, **options: Any) -> dict[str, Any]:
        """Run every step of the job; returns the recorded job's summary (counters per direction)."""
        mapping = self.services.registry.get(job)
        self.last_runs[job] = RunContext(
            dag_id=mapping.dag_id, run_id=f"test_run_{next(self._runs)}", kind=kind, **options
        )
        return run_job(job, self.last_runs[job], self.services, self.staging).summary()

    def retry_load(self, job: str, destination: Side) -> LoadResult:
        """Run the job's last load task again, as Airflow's task retry or a cleared task does."""
        mapping = self.services.registry.get(job)
        run = replace(self.last_runs[job], try_number=self.last_runs[job].try_number + 1)
        self.last_runs[job] = run
        folder, planned = staged_plan(mapping, run, self.staging)
        return load(mapping, destination, run, self.services, folder, planned)

    def counters(self, summary: dict[str, Any], direction: str) -> dict[str, int]:
        return {k: v for k, v in summary["directions"][direction].items() if k != "status"}

    @property
    def store(self):
        return self.services.store

    @property
    def bc(self):
        return self.services.bc

    @property
    def crm(self):
        return self.services.crm

    def sales_user_edit(self, logical_name: str, key: str, values: dict[str, Any]) -> None:
        """An edit made in Sales by a human user (not bcsync's application user)."""
        schemas = {schema.logical_name: schema for schema in DATAVERSE_SCHEMAS}
        database = Database(self.sandbox.db_url, DATAVERSE_SCHEMAS)
        try:
            repository = Repository(database)
            user = repository.find(
                schemas["systemuser"], {"isintegrationuser": False, "applicationid": None}
            )[0]
            repository.update(schemas[logical_name], key, values, actor=user["systemuserid"])
        finally:
            database.dispose()

    def override_mapping(self, name: str, **settings: Any) -> None:
        """Change a mapping's settings for this test, as a user would in its YAML file."""
        folder = Path(self.staging.path).parent / "mappings"  # any private folder of the test
        self.edit_mappings(folder, {name: lambda mapping: mapping.update(settings)})
        self.monkeypatch.setenv("BCSYNC_MAPPINGS_DIR", str(folder))
        self.services.__dict__.pop("registry", None)

    def bc_edit(self, entity_set: str, record_id: str, values: dict[str, Any], api: str = "v2.0") -> dict:
        return self.bc.update(entity_set, record_id, values, etag="*", api=api)

    def add_sales_users(self, salespeople: Iterable[Mapping[str, Any]]) -> None:
        """The Sales administrator adds a licensed user for each BC salesperson (same name and email).

        Users go to the environment's first business unit; SALESPEOPLE couples them on its next run.
        """
        business_unit = next(self.crm.iter_pages("businessunits", select=["businessunitid"]))[0][
            "businessunitid"
        ]
        for person in salespeople:
            self.crm.create(
                "systemusers",
                {
                    "fullname": person["displayName"],
                    "internalemailaddress": person["email"],
                    "islicensed": True,
                    "businessunitid@odata.bind": f"/businessunits({business_unit})",
                },
            )


@pytest.fixture(scope="session")
def pipeline_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """One sandbox (seed 30) for every pipeline test; `harness` resets it before each test."""
    with running_sandbox(tmp_path_factory.mktemp("pipeline-sandbox"), seed_customers=30) as sandbox:
        yield sandbox


@pytest.fixture
def harness(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edit_mappings: Callable[..., Path],
    pipeline_sandbox: RunningSandbox,
) -> Iterator[SyncHarness]:
    """The shared sandbox reset to its seed (data, protection, faults, stats), a fresh coupling store,
    staging area and Services per test: every test starts from the same data, as with its own sandbox."""
    pipeline_sandbox.reset()
    harness = harness_for(pipeline_sandbox, tmp_path, monkeypatch, edit_mappings)
    yield harness
    harness.services.store.dispose()


def harness_for(
    sandbox: RunningSandbox,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    edit_mappings: Callable[..., Path],
) -> SyncHarness:
    """A harness on `sandbox` with a fresh coupling store, staging area and Services (dispose its store)."""
    for name, value in sandbox_connections(sandbox).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AIRFLOW_CONN_BCSYNC_STORE", f"sqlite:///{tmp_path / 'store.db'}")
    monkeypatch.delenv("BCSYNC_MAPPINGS_DIR", raising=False)
    return SyncHarness(
        sandbox,
        Services(),
        ObjectStoragePath(f"file://{tmp_path / 'staging'}"),
        monkeypatch=monkeypatch,
        edit_mappings=edit_mappings,
    )
