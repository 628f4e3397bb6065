"""Throughput of the local Business Central API: paged reads and writes by single POST and `$batch`.

Starts a sandbox subprocess, drives the BC service over HTTPS like a client and prints the same table
as benchmarks/sandbox_throughput.py (whose Measurement and table it reuses; `measure_bc` has that
module's `measure_<service>` signature so it can join its SERVICES).

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/sandbox_bc_throughput.py [--records 20000]
"""

from __future__ import annotations

import argparse
import uuid

import requests
from _sandbox_client import checked, sample_record, service_session, temporary_sandbox
from sandbox_throughput import Measurement, Stopwatch, print_table

from sandbox.launcher import RunningSandbox

BC_PAGE_SIZE = 5000
BC_BATCH_SIZE = 100  # BC's maximum operations per $batch
BC_SINGLE_POSTS = 1000


def _customer(tag: str, index: int) -> dict[str, object]:
    return sample_record(("displayName", "phoneNumber", "city", "creditLimit"), tag, index)


def _batch(
    session: requests.Session, sandbox: RunningSandbox, tag: str, start: int, count: int, snapshot: bool
) -> None:
    operations = [
        {
            "id": str(index),
            "method": "POST",
            "url": f"companies({sandbox.company_id})/customers",
            "headers": {"Content-Type": "application/json"},
            "body": _customer(tag, index),
        }
        for index in range(start, start + count)
    ]
    headers = {"Isolation": "snapshot"} if snapshot else {}
    answers = checked(
        session.post(f"{sandbox.bc_api}/$batch", json={"requests": operations}, headers=headers), 200
    ).json()["responses"]
    if len(answers) != count or any(answer["status"] != 201 for answer in answers):
        raise RuntimeError("a $batch operation failed")


def measure_bc(sandbox: RunningSandbox, records: int) -> list[Measurement]:
    session = service_session(sandbox, sandbox.bc_scope)
    tag = uuid.uuid4().hex[:6]
    results: list[Measurement] = []

    for snapshot in (False, True):
        label = f"{tag}{'s' if snapshot else 'b'}"
        with Stopwatch() as watch:
            for start in range(0, records, BC_BATCH_SIZE):
                _batch(session, sandbox, label, start, min(BC_BATCH_SIZE, records - start), snapshot)
        mode = "snapshot" if snapshot else "each op commits"
        results.append(
            Measurement("bc", f"$batch ({BC_BATCH_SIZE}/batch, {mode})", records, watch.seconds, 2000)
        )

    singles = min(records, BC_SINGLE_POSTS)
    with Stopwatch() as watch:
        for index in range(singles):
            checked(
                session.post(f"{sandbox.bc_company_url}/customers", json=_customer(f"{tag}p", index)), 201
            )
    results.append(Measurement("bc", "single POST (sequential)", singles, watch.seconds))

    read = 0
    url: str | None = (
        f"{sandbox.bc_company_url}/customers?$select=id,number,displayName,city,lastModifiedDateTime"
    )
    with Stopwatch() as watch:
        while url:
            page = session.get(url, headers={"Prefer": f"odata.maxpagesize={BC_PAGE_SIZE}"})
            body = checked(page, 200).json()
            read += len(body["value"])
            url = body.get("@odata.nextLink")
    results.append(Measurement("bc", f"paged read (maxpagesize {BC_PAGE_SIZE})", read, watch.seconds, 5000))
    session.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20000, help="customers written per $batch mode")
    args = parser.parse_args()
    with temporary_sandbox("sandbox-bc-bench-") as sandbox:
        measurements = measure_bc(sandbox, args.records)
    print_table(measurements)


if __name__ == "__main__":
    main()
