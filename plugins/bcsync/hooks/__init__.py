"""Airflow hooks for Business Central and Dataverse (Dynamics 365 Sales): one per service, on the
Airflow Connections `bc_default` and `dataverse_default`."""

from bcsync.hooks.business_central import BusinessCentralHook
from bcsync.hooks.dataverse import ChangeFeed, ChangePage, DataverseHook

__all__ = ["BusinessCentralHook", "ChangeFeed", "ChangePage", "DataverseHook"]
