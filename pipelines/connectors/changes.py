"""What a change reader (PostgreSQL's slot, MySQL's binlog) hands the CDC engine: row changes and a snapshot."""

from dataclasses import dataclass


@dataclass(frozen=True)
class Change:
    lsn: int
    operation: str  # c, u, d
    namespace: str
    table: str
    values: dict  # column -> Python value: the new row, or for a delete the old key


@dataclass(frozen=True)
class SlotSnapshot:
    slot: str
    consistent_lsn: int
    snapshot: str
