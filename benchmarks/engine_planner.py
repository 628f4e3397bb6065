"""The engine's planner and matching on N synthetic customers: the columnar code against the old
record-by-record code (tests/unit/engine/rowwise_reference.py).

    PYTHONPATH=plugins:include .venv/bin/python benchmarks/engine_planner.py [--customers N]
        [--changed-percent P] [--only-coupled] [--what plan|match|both]

The pass is CUSTOMER BC → Sales with its field mappings (a constant, the salesperson, currency and
primary-contact lookups, three option maps, text with lengths, a number), as the pipeline stages it:
the frames go through Parquet, so text is Arrow-backed. Half the customers are coupled; P % of those
changed (a new modified-on and a new phone number); the rest are created (a full synchronization)
unless --only-coupled. Matching pairs the uncoupled half with all N accounts on name + city, then
e-mail.

Each variant runs in its own child process on the same seeded data and prints wall and CPU time,
the peak of Python allocations during the call (tracemalloc, a second run) and the child's peak RSS
before and after the call. The old and new results are compared (they must be equal).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import resource
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bcsync.engine.matching import MatchField, match_records
from bcsync.engine.model import (
    DESTINATION_ID,
    DESTINATION_MODIFIED,
    SOURCE_ID,
    SOURCE_MODIFIED,
    FieldRule,
    PassSpec,
    SyncPass,
)
from bcsync.engine.planner import plan_pass
from bcsync.engine.transform import lookup_table

# The old code lives with the tests that check the new code against it.
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "unit" / "engine"))
from rowwise_reference import match_records_rowwise, plan_pass_rowwise

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
CITIES = ["Atlanta", "Boston", "Chicago", "Denver", "Lisbon", "Oslo", "Paris", "Zürich"]
COUNTRIES = ["US", "GB", "DE", "FR", "PT", "NO", "CH"]
CURRENCIES = ["", "EUR", "GBP", "CHF", "NOK"]  # blank: the LCY, Sales' base currency
TERMS = {"NET30": 1, "NET60": 2, "COD": 3, "14 DAYS": 4}
METHODS = {"PICKUP": 1, "EXW": 2, "CIF": 3}
AGENTS = {"DHL": 1, "FEDEX": 2, "UPS": 3}
SALESPEOPLE = ["JO", "PS", "JR", "LT"]


def customer_spec(only_coupled: bool) -> PassSpec:
    def text(source: str, destination: str, caption: str, length: int | None = None) -> FieldRule:
        return FieldRule(source, destination, caption, bidirectional=True, max_length=length)

    return PassSpec(
        mapping="CUSTOMER",
        sync_pass=SyncPass.TO_CRM,
        fields=(
            FieldRule(None, "owneridtype", "Owner Type", constant="systemuser", is_constant=True),
            FieldRule("salespersonCode", "ownerid", "Salesperson Code", lookup="SALESPEOPLE", not_null=True),
            text("displayName", "name", "Name", 160),
            text("contact", "address1_primarycontactname", "Contact", 100),
            text("addressLine1", "address1_line1", "Address", 250),
            text("addressLine2", "address1_line2", "Address 2", 250),
            text("postalCode", "address1_postalcode", "Post Code", 20),
            text("city", "address1_city", "City", 80),
            text("country", "address1_country", "Country/Region Code", 80),
            FieldRule(
                "currencyCode",
                "transactioncurrencyid",
                "Currency Code",
                bidirectional=True,
                lookup="CURRENCY",
            ),
            text("email", "emailaddress1", "E-Mail", 100),
            text("phoneNumber", "telephone1", "Phone No.", 50),
            FieldRule(
                "shipmentMethodCode", "address1_freighttermscode", "Shipment Method", option_map=METHODS
            ),
            FieldRule(
                "shippingAgentCode", "address1_shippingmethodcode", "Shipping Agent", option_map=AGENTS
            ),
            FieldRule("paymentTermsCode", "paymenttermscode", "Payment Terms Code", option_map=TERMS),
            FieldRule("creditLimit", "creditlimit", "Credit Limit (LCY)"),
            FieldRule(
                "primaryContactNo",
                "primarycontactid",
                "Primary Contact No.",
                lookup="CONTACT",
                clear_on_failed_sync=True,
            ),
        ),
        bidirectional_mapping=True,
        only_coupled=only_coupled,
        source_caption="Customer",
        destination_caption="Account",
    )


def staged(frame: pd.DataFrame) -> pd.DataFrame:
    """Through Parquet, as the pipeline hands frames from task to task."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    return pd.read_parquet(io.BytesIO(buffer.getvalue()))


def synthetic(customers: int, changed_percent: float, seed: int = 7) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    numbers = pd.Series(np.arange(customers)).astype(str).str.zfill(6)
    ids = pd.Series([f"{i:08x}-0000-4000-8000-000000000000" for i in range(customers)])
    pick = lambda values: np.asarray(values, dtype=object)[rng.integers(0, len(values), customers)]  # noqa: E731
    source = pd.DataFrame(
        {
            SOURCE_ID: ids,
            SOURCE_MODIFIED: T0 - timedelta(days=1),
            "number": "C" + numbers,
            "displayName": "Customer " + numbers,
            "contact": "Contact " + numbers,
            "addressLine1": numbers + " Main Street",
            "addressLine2": np.where(rng.random(customers) < 0.7, "", "Building 2"),
            "postalCode": pd.Series(rng.integers(10000, 99999, customers)).astype(str),
            "city": pick(CITIES),
            "country": pick(COUNTRIES),
            "currencyCode": pick(CURRENCIES),
            "email": "c" + numbers + "@example.com",
            "phoneNumber": "555-" + numbers,
            "shipmentMethodCode": pick([*METHODS, ""]),
            "shippingAgentCode": pick([*AGENTS, ""]),
            "paymentTermsCode": pick([*TERMS, "2% 8 DAYS"]),  # one code without an option row
            "creditLimit": rng.integers(0, 100, customers) * 1000.0,
            "salespersonCode": pick(SALESPEOPLE),
            "primaryContactNo": "CT" + numbers,
        }
    )
    coupled = np.arange(0, customers, 2)  # half the customers
    account_ids = pd.Series([f"{i:08x}-1111-4000-8000-000000000000" for i in range(customers)])
    couplings = pd.DataFrame(
        {
            SOURCE_ID: ids[coupled].to_numpy(),
            DESTINATION_ID: account_ids[coupled].to_numpy(),
            "source_synced_on": T0 - timedelta(days=1),
            "destination_synced_on": T0 - timedelta(days=1),
            "last_result": "Success",
            "skipped": False,
        }
    )
    changed = rng.choice(coupled, int(len(coupled) * changed_percent / 100), replace=False)
    source.loc[changed, SOURCE_MODIFIED] = T0
    lookups = {
        "CURRENCY": lookup_table(
            "CURRENCY",
            {c: f"{c.lower()}-id" for c in CURRENCIES if c},
            blank_means="usd-id",
            caption="Currency",
        ),
        "SALESPEOPLE": lookup_table("SALESPEOPLE", {s: f"user-{s.lower()}" for s in SALESPEOPLE}),
        # Half the primary contacts are coupled: the others are cleared (clear_on_failed_sync).
        "CONTACT": lookup_table("CONTACT", {f"CT{n}": f"contact-{n}" for n in numbers[::2]}),
    }
    spec = customer_spec(only_coupled=False)
    # The accounts as they stand: what the last sync wrote, before this change.
    accounts = plan_pass(spec, source, couplings.iloc[0:0], pd.DataFrame(), lookups)
    written = pd.DataFrame(accounts["payload"].tolist())
    destination = written.iloc[coupled].reset_index(drop=True)
    destination.insert(0, DESTINATION_ID, account_ids[coupled].to_numpy())
    destination.insert(1, DESTINATION_MODIFIED, T0 - timedelta(days=1))
    source.loc[changed, "phoneNumber"] = "555-9" + numbers[changed]
    candidates = written.copy()
    candidates.insert(0, DESTINATION_ID, account_ids)
    return {
        "source": staged(source),
        "couplings": staged(couplings),
        "destination": staged(destination),
        "lookups": lookups,
        "uncoupled": staged(source.drop(index=coupled).reset_index(drop=True)),
        "candidates": staged(candidates),
        "coupled_accounts": set(account_ids[coupled]),
    }


def run_child(args: argparse.Namespace) -> None:
    data = synthetic(args.customers, args.changed_percent)
    spec = customer_spec(args.only_coupled)
    groups = [
        [MatchField("displayName", "name"), MatchField("city", "address1_city")],
        [MatchField("email", "emailaddress1")],
    ]
    work: dict[str, Callable[[], pd.DataFrame]] = {
        "plan old": lambda: plan_pass_rowwise(
            spec, data["source"], data["couplings"], data["destination"], data["lookups"]
        ),
        "plan new": lambda: plan_pass(
            spec, data["source"], data["couplings"], data["destination"], data["lookups"]
        ),
        "match old": lambda: match_records_rowwise(
            data["uncoupled"], data["candidates"], groups, data["coupled_accounts"]
        ),
        "match new": lambda: match_records(
            data["uncoupled"], data["candidates"], groups, data["coupled_accounts"]
        ),
    }
    step = work[args.child]
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    result = step()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    del result
    tracemalloc.start()
    result = step()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    counts = (
        result["action"].value_counts().to_dict()
        if "action" in result
        else {"matched": int(result[DESTINATION_ID].notna().sum())}
    )
    digest = hashlib.sha256(
        repr((result.dtypes.astype(str).tolist(), result.to_dict("list"))).encode()
    ).hexdigest()
    print(
        json.dumps(
            {
                "wall": wall,
                "cpu": cpu,
                "peak_python_mb": peak / 2**20,
                "rss_before_mb": rss_before / 1024,
                "rss_after_mb": rss_after / 1024,
                "counts": counts,
                "digest": digest,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--changed-percent", type=float, default=1.0)
    parser.add_argument("--only-coupled", action="store_true", help="a scheduled run: uncoupled are ignored")
    parser.add_argument("--what", choices=["plan", "match", "both"], default="both")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
        return
    steps = ["plan", "match"] if args.what == "both" else [args.what]
    print(
        f"{args.customers:,} customers, half coupled, {args.changed_percent:g} % of those changed, "
        f"{'only coupled' if args.only_coupled else 'full synchronization (uncoupled are created)'}"
    )
    print(f"{'':<11}{'wall s':>9}{'CPU s':>9}{'Python peak MB':>16}{'RSS before/after MB':>22}  outcome")
    for step in steps:
        results = {}
        for variant in ("old", "new"):
            command = [
                sys.executable,
                __file__,
                "--child",
                f"{step} {variant}",
                "--customers",
                str(args.customers),
                "--changed-percent",
                str(args.changed_percent),
            ]
            if args.only_coupled:
                command.append("--only-coupled")
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            figures = results[variant] = json.loads(output.strip().splitlines()[-1])
            rss = f"{figures['rss_before_mb']:.0f} / {figures['rss_after_mb']:.0f}"
            print(
                f"{step + ' ' + variant:<11}{figures['wall']:>9.2f}{figures['cpu']:>9.2f}"
                f"{figures['peak_python_mb']:>16.1f}{rss:>22}  {figures['counts']}"
            )
        same = results["old"]["digest"] == results["new"]["digest"]
        speedup = results["old"]["wall"] / results["new"]["wall"]
        print(f"{step}: {speedup:.1f}x faster, results {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
