"""BC companies as Dataverse knows them: the `bcbi_company` rows, and what another company owns.

BC's Dataverse integration keeps one `bcbi_company` row per BC company, found by `bcbi_externalid` =
the company's id in lower case, and stamps the rows it synchronizes with that row (`bcbi_companyid`).
Each company reads only its own rows and those of no company. The seed has the row of the sandbox's
BC company (`settings.company_id`) and the row of a second company, CRONUS Canada, which sells to two
of the sandbox company's customers that Sales does not know yet: "School of Fine Art" and the first
generated customer of that kind with contact persons. CRONUS Canada's accounts for them carry the same
name, address and e-mail, and its contacts the same people, so matching would couple them if the
company filter let them through. Nothing else in the seed belongs to a company.

These rows come from their own random stream ("companies") and ids, after every other Dataverse row,
so everything seeded before them is exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import timedelta

from sandbox.seed import catalog
from sandbox.seed.customers import SHOWCASES, Account, Customer, Role, dataverse_currency
from sandbox.seed.dataverse_rows import DataverseRows, Row
from sandbox.seed.determinism import SeedSource, moment

OTHER_COMPANY_NAME = "CRONUS Canada, Inc."
SHOWCASE_SHARED_CUSTOMER = "School of Fine Art"


class CompanyRows:
    """The `bcbi_company` rows, and the other company's accounts and contacts."""

    def __init__(
        self,
        source: SeedSource,
        dataverse: DataverseRows,
        *,
        company_id: str,
        company_name: str,
        owners: Iterable[catalog.Salesperson],
    ) -> None:
        self._source = source
        self._rng = source.stream("companies")
        self._dataverse = dataverse
        self._company = (company_id.lower(), company_name)
        self._other = (source.guid("bc/company", OTHER_COMPANY_NAME), OTHER_COMPANY_NAME)
        self._owner = next(p for p in owners if p.on_dataverse and p.licensed and not p.disabled)
        self.shared: list[Customer] = []  # the customers both companies sell to

    def company_id(self, external_id: str) -> str:
        return self._dataverse.id("bcbi_company", external_id)

    @property
    def other_company_id(self) -> str:
        return self.company_id(self._other[0])

    def notice(self, customers: Iterable[Customer]) -> None:
        """Remember the customers CRONUS Canada sells to, as the customer chunks go by."""
        showcases = len(SHOWCASES)
        for customer in customers:
            if customer.role is not Role.BC_ONLY or customer.blocked.strip():
                continue
            generated_with_persons = customer.index >= showcases and customer.persons
            if customer.company.name == SHOWCASE_SHARED_CUSTOMER or (
                generated_with_persons and not any(c.index >= showcases for c in self.shared)
            ):
                self.shared.append(customer)

    def companies(self) -> list[Row]:
        rows = []
        for external_id, name in (self._company, self._other):
            modified = moment(self._rng, newest_days_ago=600)
            by = self._dataverse.admin_id
            rows.append(
                {
                    "bcbi_companyid": self.company_id(external_id),
                    "bcbi_name": name[:30],
                    "bcbi_externalid": external_id,
                    "ownerid": by,
                    "createdon": modified - timedelta(days=self._rng.randint(0, 30)),
                    "modifiedon": modified,
                    "createdby": by,
                    "modifiedby": by,
                }
            )
        return rows

    def other_company_records(self) -> tuple[list[Row], list[Row]]:
        """CRONUS Canada's accounts and contacts for the customers both companies sell to."""
        accounts, contacts = [], []
        for customer in self.shared:
            key = f"oc{customer.index}"
            account = Account(
                key=key,
                company=customer.company,
                owner=self._owner,
                currency=dataverse_currency(customer.currency),
                credit_limit=customer.credit_limit,
                persons=tuple(
                    replace(person, key=f"{key}/{position}", number="", on_bc=False, on_dataverse=True)
                    for position, person in enumerate(customer.persons)
                ),
                modified=moment(self._rng),
            )
            row, persons = self._dataverse.account(account)
            accounts.append({**row, "bcbi_companyid": self.other_company_id})
            contacts += [{**person, "bcbi_companyid": self.other_company_id} for person in persons]
        return accounts, contacts
