"""A plain per-record CUSTOMER client, BC → Sales, kept to compare bcsync against (issue 11).

What a small hand-written integration does: page through BC's customers, then one HTTPS request per
record written (a single POST or PATCH to Dataverse's Web API), couplings in a small SQLite table of its
own, incremental runs from a modified-on watermark. It decides as bcsync's CUSTOMER job does, so that
both produce the same counters and the same values in Sales (tests/integration/pipeline/
test_naive_client_parity.py checks it):

* the field mapping is bcsync's: the registry's CUSTOMER mapping turned into field rules
  (`bcsync.pipeline.specs.field_rules`) and applied record by record with `bcsync.engine.transform.
  transfer`, values compared with `bcsync.engine.values.same_value`, so the mapping cannot drift;
* match-based coupling on the mapping's match priorities (name + city, then e-mail; text trimmed and
  case-folded; a record couples only to a single free candidate), in a full synchronization only;
* lookups (salesperson → owner, currency → transaction currency) go through the couplings bcsync's
  SALESPEOPLE and CURRENCY jobs made: the client syncs customers only;
* not covered (the benchmark's data does not need them): text truncated to Dataverse's lengths,
  deletions, the Sales → BC direction, retries.
"""

from __future__ import annotations

import logging
import sqlite3
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import requests

from bcsync.engine.model import Side, SyncPass
from bcsync.engine.transform import lookup_table, transfer
from bcsync.engine.values import same_value
from bcsync.pipeline.specs import field_rules, match_groups, side_columns
from bcsync.registry import load_registry

log = logging.getLogger(__name__)

MAPPING = "CUSTOMER"
COUNTERS = ("inserted", "modified", "deleted", "unchanged", "skipped", "failed", "coupled")
LCY = "USD"  # BC's local currency: a blank currency code means Sales' base currency
COMPANY_LOOKUP = "bcbi_companyid"  # BC sets its company's row on the accounts it writes

SCHEMA = """
create table if not exists couplings (
    bc_id text primary key, crm_id text not null, bc_synced_on text, crm_synced_on text, failed integer
);
create table if not exists watermark (name text primary key, value text)
"""


class Coupling(NamedTuple):
    bc_id: str
    crm_id: str
    bc_synced_on: str | None  # the customer's modified-on when last synchronized
    crm_synced_on: str | None  # the account's modified-on after that
    failed: int  # 1: the last synchronization failed; the next run tries again


@dataclass(frozen=True)
class Endpoints:
    """Where the services are and who we are; `from_sandbox` reads them from a running local sandbox."""

    bc_standard: str  # .../api/v2.0/companies(<id>)
    bc_custom: str  # bcsync's custom API pages for the same company
    dataverse: str  # .../api/data/v9.2
    token_url: str
    client_id: str
    client_secret: str
    bc_scope: str
    dataverse_scope: str
    company_id: str
    ca_file: str

    @classmethod
    def from_sandbox(cls, sandbox: Any, custom_api: str = "bcsync/sync/v1.0") -> Endpoints:
        company = f"companies({sandbox.company_id})"
        root = f"{sandbox.bc_url}/v2.0/{sandbox.tenant_id}/{sandbox.bc_environment}/api"
        return cls(
            f"{root}/v2.0/{company}", f"{root}/{custom_api}/{company}", sandbox.dataverse_api,
            sandbox.token_url, sandbox.client_id, sandbox.client_secret, sandbox.bc_scope,
            sandbox.dataverse_scope, sandbox.company_id.lower(), str(sandbox.ca_file),
        )  # fmt: skip


class Api:
    """A requests session per service, with a client-credentials token from the token endpoint."""

    def __init__(self, endpoints: Endpoints, scope: str) -> None:
        self.endpoints, self.scope = endpoints, scope
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = endpoints.ca_file
        self.expires = 0.0

    def send(self, method: str, url: str, **options: Any) -> requests.Response:
        if time.time() > self.expires:
            token = self.session.post(
                self.endpoints.token_url,
                data={
                    "grant_type": "client_credentials",
                    "client_id": self.endpoints.client_id,
                    "client_secret": self.endpoints.client_secret,
                    "scope": self.scope,
                },
                timeout=30,
            )
            token.raise_for_status()
            body = token.json()
            self.session.headers["Authorization"] = f"Bearer {body['access_token']}"
            self.expires = time.time() + body["expires_in"] - 300
        return self.session.request(method, url, timeout=60, **options)

    def rows(self, url: str, select: list[str], filter: str | None = None) -> list[dict[str, Any]]:
        """Every row of a collection, following the service's next links."""
        params = {"$select": ",".join(select), **({"$filter": filter} if filter else {})}
        out: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url:
            response = self.send("GET", next_url, params=params)
            response.raise_for_status()
            body = response.json()
            out.extend(body["value"])
            next_url, params = body.get("@odata.nextLink"), {}
        return out


class NaiveClient:
    def __init__(self, endpoints: Endpoints, database: Path, store_url: str) -> None:
        """`store_url`: bcsync's coupling store, read only for the SALESPEOPLE and CURRENCY couplings."""
        self.endpoints, self.store_url = endpoints, store_url
        self.bc = Api(endpoints, endpoints.bc_scope)
        self.crm = Api(endpoints, endpoints.dataverse_scope)
        self.db = sqlite3.connect(database)
        self.db.executescript(SCHEMA)
        self.registry = load_registry()
        self.mapping = self.registry.get(MAPPING)
        self.rules = field_rules(self.mapping, SyncPass.TO_CRM, self.registry)
        self.binds = {  # Dataverse lookups: (navigation property, entity set) for @odata.bind
            f.crm_field: (f.crm_navigation or f.crm_field, self.registry.get(f.lookup.mapping).crm_entity_set)
            for f in self.mapping.fields
            if f.lookup and f.crm_field
        }

    # -- one run -------------------------------------------------------------------------------------

    def sync(self, full: bool) -> dict[str, int]:
        """One run: a full synchronization (every customer, matching, creates) or an incremental one
        (customers modified since the watermark, coupled ones only). Returns the counters."""
        counts: Counter[str] = Counter({name: 0 for name in COUNTERS})
        watermark = None if full else self._watermark()
        customers = self._customers(watermark)
        if not customers:
            return dict(counts)
        couplings = {row[0]: Coupling(*row) for row in self.db.execute("select * from couplings")}
        lookups = self._lookups()
        company = self._company()
        accounts: dict[str, dict[str, Any]] = {}  # a full run reads every account once, for matching
        if full:
            accounts = {a["accountid"]: a for a in self._accounts(company)}
            self._match(customers, couplings, accounts, counts)
        for customer in customers:
            coupling = couplings.get(customer["id"])
            if coupling is None:
                if full:
                    self._insert(customer, lookups, company, counts)
                continue
            changed = coupling.failed or _after(customer["lastModifiedDateTime"], coupling.bc_synced_on)
            if not changed:
                counts["unchanged"] += 1
                continue
            current = accounts.get(coupling.crm_id) if full else self._account(coupling.crm_id)
            self._modify(customer, coupling, current, lookups, company, counts)
        newest = max((c["lastModifiedDateTime"] for c in customers), key=_instant)
        self.db.execute("insert or replace into watermark values ('bc', ?)", (newest,))
        self.db.commit()
        return dict(counts)

    # -- reads ---------------------------------------------------------------------------------------

    def _customers(self, watermark: str | None) -> list[dict[str, Any]]:
        """BC's customers (standard page) with the fields only bcsync's custom page has."""
        columns = side_columns(self.mapping, Side.BC)
        custom = [columns.key, *columns.fields_by_endpoint.get("custom", ())]
        window = f"{columns.modified} gt {watermark}" if watermark else None
        table = " and ".join(f"({f})" for f in (self.mapping.table_filter, window) if f)
        rows = self.bc.rows(f"{self.endpoints.bc_standard}/customers", columns.select("v2.0"), table)
        extra = {r["id"]: r for r in self.bc.rows(f"{self.endpoints.bc_custom}/customers", custom, window)}
        return [{**extra.get(row["id"], {}), **row} for row in rows]

    def _accounts(self, company: str | None) -> list[dict[str, Any]]:
        where = [self.mapping.integration_table_filter]
        if company:
            where.append(f"_{COMPANY_LOOKUP}_value eq {company} or _{COMPANY_LOOKUP}_value eq null")
        url = f"{self.endpoints.dataverse}/accounts"
        rows = self.crm.rows(url, self.account_columns(), " and ".join(f"({w})" for w in where))
        return [self.named(row) for row in rows]

    def _account(self, account_id: str) -> dict[str, Any] | None:
        """One account by id (an incremental run reads only the counterparts of changed customers)."""
        url = f"{self.endpoints.dataverse}/accounts({account_id})"
        response = self.crm.send("GET", url, params={"$select": ",".join(self.account_columns())})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return self.named(response.json())

    def account_columns(self) -> list[str]:
        fields = [f"_{r.destination_field}_value" if r.lookup else r.destination_field for r in self.rules]
        return ["accountid", "modifiedon", *dict.fromkeys(fields)]

    def named(self, row: dict[str, Any]) -> dict[str, Any]:
        """A Web API row with its lookups under their field names (`_ownerid_value` → ownerid)."""
        names = ["accountid", "modifiedon", *(r.destination_field for r in self.rules)]
        return {n: row.get(f"_{n}_value") if n in self.binds else row.get(n) for n in names}

    def _lookups(self) -> dict[str, Any]:
        """Per related mapping: BC code → Sales id, through bcsync's couplings of that mapping."""
        from bcsync.store.store import CouplingStore

        store = CouplingStore(self.store_url)
        tables = {}
        try:
            for field in self.mapping.fields:
                if not field.lookup or field.lookup.mapping in tables:
                    continue
                related = self.registry.get(field.lookup.mapping)
                pairs = store.couplings(related.name)
                crm_by_bc = dict(zip(pairs["bc_id"].str.lower(), pairs["crm_id"], strict=True))
                codes = {}
                if crm_by_bc:
                    custom = related.bc_endpoint.api.value == "custom"
                    root = self.endpoints.bc_custom if custom else self.endpoints.bc_standard
                    url = f"{root}/{related.bc_endpoint.entity_set}"
                    for row in self.bc.rows(url, [related.bc_key, related.bc_natural_key]):
                        if (bc_id := str(row[related.bc_key]).lower()) in crm_by_bc:
                            codes[row[related.bc_natural_key]] = crm_by_bc[bc_id]
                base = self._base_currency() if field.lookup.blank_means_lcy else None
                tables[related.name] = lookup_table(
                    related.name, codes, blank_means=base, caption=related.bc_table
                )
        finally:
            store.dispose()
        return tables

    def _base_currency(self) -> str | None:
        url = f"{self.endpoints.dataverse}/transactioncurrencies"
        rows = self.crm.rows(url, ["transactioncurrencyid"], f"isocurrencycode eq '{LCY}'")
        return str(rows[0]["transactioncurrencyid"]).lower() if rows else None

    def _company(self) -> str | None:
        """This BC company's row in Sales (BC's company filter and the lookup it sets on writes)."""
        url = f"{self.endpoints.dataverse}/bcbi_companies"
        external_id = f"bcbi_externalid eq '{self.endpoints.company_id}'"
        response = self.crm.send("GET", url, params={"$select": "bcbi_companyid", "$filter": external_id})
        if response.status_code == 404:
            return None
        response.raise_for_status()
        rows = response.json()["value"]
        return str(rows[0]["bcbi_companyid"]).lower() if rows else None

    # -- decisions and writes ------------------------------------------------------------------------

    def _match(self, customers: list[dict], couplings: dict, accounts: dict, counts: Counter) -> None:
        """Couple uncoupled customers to the one free account with the same match values: priority
        groups in order, a customer's blank fields left out, a taken or ambiguous match falls through."""
        taken = {row[1] for row in couplings.values()}
        index: dict[tuple, dict[tuple, list[str]]] = {}  # fields used → their values → account ids
        for customer in customers:
            if customer["id"] in couplings:
                continue
            for group in match_groups(self.mapping, SyncPass.TO_CRM):
                used = tuple(f for f in group if not _blank(customer.get(f.source_field)))
                if not used:
                    continue
                if used not in index:
                    index[used] = {}
                    for account in accounts.values():
                        if all(not _blank(account.get(f.destination_field)) for f in used):
                            key = tuple(_key(account[f.destination_field], f.case_sensitive) for f in used)
                            index[used].setdefault(key, []).append(account["accountid"])
                wanted = tuple(_key(customer[f.source_field], f.case_sensitive) for f in used)
                found = index[used].get(wanted, [])
                if len(found) == 1 and found[0] not in taken:
                    # Coupled "in step as of now": both sides' current modified-on, no data moves.
                    account = accounts[found[0]]
                    taken.add(account["accountid"])
                    row = Coupling(
                        customer["id"], account["accountid"], customer["lastModifiedDateTime"],
                        account["modifiedon"], 0,
                    )  # fmt: skip
                    self.db.execute("insert into couplings values (?, ?, ?, ?, ?)", row)
                    couplings[customer["id"]] = row
                    counts["coupled"] += 1
                    break

    def _insert(self, customer: dict, lookups: dict, company: str | None, counts: Counter) -> None:
        result = transfer(self.rules, customer, lookups)
        if result.error:
            self._fail(customer, result.error, counts)
            return
        template = self.mapping.int_table_config_template  # its values win over the mapped ones
        values = {**result.values, **(template.values if template else {})}
        account_id = str(uuid.uuid4())
        body = {"accountid": account_id, **self._body(values, company)}
        url = f"{self.endpoints.dataverse}/accounts?$select=modifiedon"
        response = self.crm.send("POST", url, json=body, headers={"Prefer": "return=representation"})
        if not response.ok:
            self._fail(customer, f"POST {response.status_code}: {response.text[:200]}", counts)
            return
        row = (customer["id"], account_id, customer["lastModifiedDateTime"], response.json()["modifiedon"], 0)
        self.db.execute("insert into couplings values (?, ?, ?, ?, ?)", row)
        counts["inserted"] += 1  # "coupled" counts only pairs found by matching, as bcsync's job log

    def _modify(
        self,
        customer: dict,
        coupling: Coupling,
        current: dict | None,
        lookups: dict,
        company: str | None,
        counts: Counter,
    ) -> None:
        """A coupled customer that changed: PATCH the fields whose value differs in Sales, if any."""
        result = transfer(self.rules, customer, lookups)
        if current is None or result.error:
            reason = result.error or f"the coupled account {coupling.crm_id} was deleted"
            self._fail(customer, reason, counts, coupled=True)
            return
        differing = {n: v for n, v in result.values.items() if not same_value(v, current.get(n))}
        # Both sides changed a bidirectional field since the last sync: BC's update conflict fails it.
        conflict = _after(current["modifiedon"], coupling.crm_synced_on) and any(
            r.bidirectional and r.destination_field in differing for r in self.rules
        )
        if conflict:
            self._fail(customer, "both sides changed since the last synchronization", counts, coupled=True)
            return
        if not differing:
            counts["unchanged"] += 1
            self.db.execute(
                "update couplings set bc_synced_on = ?, failed = 0 where bc_id = ?",
                (customer["lastModifiedDateTime"], customer["id"]),
            )
            return
        response = self.crm.send(
            "PATCH", f"{self.endpoints.dataverse}/accounts({coupling.crm_id})?$select=modifiedon",
            json=self._body(differing, company), headers={"Prefer": "return=representation", "If-Match": "*"},
        )  # fmt: skip
        if not response.ok:
            reason = f"PATCH {response.status_code}: {response.text[:200]}"
            self._fail(customer, reason, counts, coupled=True)
            return
        self.db.execute(
            "update couplings set bc_synced_on = ?, crm_synced_on = ?, failed = 0 where bc_id = ?",
            (customer["lastModifiedDateTime"], response.json()["modifiedon"], customer["id"]),
        )
        counts["modified"] += 1

    def _fail(self, customer: dict, reason: str, counts: Counter, *, coupled: bool = False) -> None:
        """A record that failed: logged with its ids and why. A coupled one is marked, so that its next
        read synchronizes it whatever changed."""
        log.warning("failed: customer %s (%s): %s", customer.get("number"), customer["id"], reason)
        counts["failed"] += 1
        if coupled:
            self.db.execute("update couplings set failed = 1 where bc_id = ?", (customer["id"],))

    def _body(self, values: dict[str, Any], company: str | None) -> dict[str, Any]:
        """Values → Web API body: lookups as `<navigation>@odata.bind`, and this company's row."""
        body: dict[str, Any] = {}
        for name, value in values.items():
            if name in self.binds:
                navigation, entity_set = self.binds[name]
                body[f"{navigation}@odata.bind"] = f"/{entity_set}({value})" if value else None
            else:
                body[name] = value
        if company:
            body[f"{COMPANY_LOOKUP}@odata.bind"] = f"/bcbi_companies({company})"
        return body

    def _watermark(self) -> str | None:
        row = self.db.execute("select value from watermark where name = 'bc'").fetchone()
        return row[0] if row else None


def _instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _after(moment: str | None, synced_on: str | None) -> bool:
    return bool(moment) and (synced_on is None or _instant(moment) > _instant(synced_on))


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _key(value: Any, case_sensitive: bool) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value if case_sensitive else value.casefold()
    return value
