"""Throughput of the local services: records/s through paged reads and through each write path.

Starts a sandbox subprocess (sandbox.launcher), drives it over HTTPS like a client would and prints a
table. Each service contributes a `measure_<service>(sandbox, records)` function returning rows;
add one to SERVICES to include it.

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/sandbox_throughput.py [--records 20000]
"""

from __future__ import annotations

import argparse
import json
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import requests
from _sandbox_client import checked, sample_record, service_session, temporary_sandbox

from sandbox.launcher import RunningSandbox

DATAVERSE_PAGE_SIZE = 5000
DATAVERSE_BATCH_SIZE = 1000
DATAVERSE_BULK_SIZE = 1000
PARALLEL_CLIENTS = 8  # concurrent clients, as a sync sending parallel single requests uses


@dataclass(frozen=True)
class Measurement:
    service: str
    operation: str
    records: int
    seconds: float
    target: float | None = None  # records/s this path must reach, if any

    @property
    def rate(self) -> float:
        return self.records / self.seconds if self.seconds else float("inf")


class Stopwatch:
    def __enter__(self) -> Stopwatch:
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self.started


# -- Dataverse -------------------------------------------------------------------------------------


def _dataverse_session(sandbox: RunningSandbox) -> tuple[requests.Session, str]:
    odata_version = {"OData-MaxVersion": "4.0", "OData-Version": "4.0"}
    return service_session(sandbox, sandbox.dataverse_scope, odata_version), sandbox.dataverse_api + "/"


def _account(tag: str, index: int) -> dict[str, object]:
    return sample_record(("name", "telephone1", "address1_city", "creditlimit"), tag, index)


def _upsert_multiple(session: requests.Session, root: str, tag: str, start: int, count: int) -> None:
    targets = [
        {
            "@odata.type": "Microsoft.Dynamics.CRM.account",
            "accountid": str(uuid.uuid4()),
            **_account(tag, start + i),
        }
        for i in range(count)
    ]
    checked(
        session.post(root + "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", json={"Targets": targets}), 204
    )


def _batch_body(root: str, tag: str, start: int, count: int) -> tuple[str, bytes]:
    boundary = f"batch_{uuid.uuid4().hex}"
    parts = []
    for index in range(start, start + count):
        parts.append(
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n"
            f"POST {root}accounts HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n"
            f"{json.dumps(_account(tag, index))}\r\n"
        )
    return boundary, ("".join(parts) + f"--{boundary}--\r\n").encode()


def measure_dataverse(sandbox: RunningSandbox, records: int) -> list[Measurement]:
    session, root = _dataverse_session(sandbox)
    tag = uuid.uuid4().hex[:6]
    results: list[Measurement] = []

    with Stopwatch() as watch:
        for start in range(0, records, DATAVERSE_BULK_SIZE):
            _upsert_multiple(session, root, tag, start, min(DATAVERSE_BULK_SIZE, records - start))
    results.append(
        Measurement(
            "dataverse", f"UpsertMultiple ({DATAVERSE_BULK_SIZE}/request)", records, watch.seconds, 2000
        )
    )

    batched = min(records, 5 * DATAVERSE_BATCH_SIZE)
    with Stopwatch() as watch:
        for start in range(0, batched, DATAVERSE_BATCH_SIZE):
            boundary, body = _batch_body(root, f"{tag}b", start, min(DATAVERSE_BATCH_SIZE, batched - start))
            headers = {"Content-Type": f"multipart/mixed; boundary={boundary}"}
            response = checked(session.post(root + "$batch", data=body, headers=headers), 200)
            if "HTTP/1.1 4" in response.text:
                raise RuntimeError("a $batch part failed")
    results.append(
        Measurement("dataverse", f"$batch ({DATAVERSE_BATCH_SIZE}/batch)", batched, watch.seconds, 2000)
    )

    singles = min(records, 1000)
    with Stopwatch() as watch:
        for index in range(singles):
            checked(session.post(root + "accounts", json=_account(f"{tag}s", index)), 204)
    results.append(Measurement("dataverse", "single POST (sequential)", singles, watch.seconds))

    sessions = [_dataverse_session(sandbox)[0] for _ in range(PARALLEL_CLIENTS)]

    def post(index: int) -> None:
        worker = sessions[index % PARALLEL_CLIENTS]
        checked(worker.post(root + "accounts", json=_account(f"{tag}p", index)), 204)

    with Stopwatch() as watch, ThreadPoolExecutor(PARALLEL_CLIENTS) as pool:
        list(pool.map(post, range(singles)))
    results.append(
        Measurement("dataverse", f"single POST ({PARALLEL_CLIENTS} in parallel)", singles, watch.seconds)
    )
    for worker in sessions:
        worker.close()

    read = 0
    url: str | None = root + "accounts?$select=name,telephone1,address1_city,creditlimit,modifiedon"
    with Stopwatch() as watch:
        while url:
            body = checked(
                session.get(url, headers={"Prefer": f"odata.maxpagesize={DATAVERSE_PAGE_SIZE}"}), 200
            ).json()
            read += len(body["value"])
            url = body.get("@odata.nextLink")
    results.append(
        Measurement("dataverse", f"paged read (maxpagesize {DATAVERSE_PAGE_SIZE})", read, watch.seconds, 5000)
    )
    session.close()
    return results


SERVICES: dict[str, Callable[[RunningSandbox, int], list[Measurement]]] = {"dataverse": measure_dataverse}


def print_table(measurements: list[Measurement]) -> None:
    print(f"{'service':<10} {'operation':<34} {'records':>8} {'seconds':>8} {'records/s':>10}  target")
    for m in measurements:
        verdict = (
            ""
            if m.target is None
            else (f"≥ {m.target:,.0f} ok" if m.rate >= m.target else f"≥ {m.target:,.0f} LOW")
        )
        print(
            f"{m.service:<10} {m.operation:<34} {m.records:>8,} {m.seconds:>8.2f} {m.rate:>10,.0f}  {verdict}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--records", type=int, default=20000, help="records written (and then read) per service"
    )
    parser.add_argument(
        "--services", default=",".join(SERVICES), help=f"comma-separated, from {', '.join(SERVICES)}"
    )
    args = parser.parse_args()
    chosen = [name.strip() for name in args.services.split(",") if name.strip()]
    unknown = [name for name in chosen if name not in SERVICES]
    if unknown:
        parser.error(f"unknown service(s): {', '.join(unknown)}")
    with temporary_sandbox("sandbox-bench-") as sandbox:
        measurements = [m for name in chosen for m in SERVICES[name](sandbox, args.records)]
    print_table(measurements)


if __name__ == "__main__":
    main()
