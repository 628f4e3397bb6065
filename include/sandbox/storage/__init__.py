"""Persistence of the local services' records: entity schemas, SQL tables and the repository."""
