"""What a change reader (PostgreSQL's slot, MySQL's binlog) hands the CDC engine: row changes and a snapshot."""

import uuid
from dataclasses import dataclass


def position_text(value: int) -> str:
    """A 64-bit change position as HIGH/LOW in hex: PostgreSQL's LSN notation, and for a binlog file number/offset."""
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


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


def new_slot_name(job_id: int) -> str:
    """A capture's name (PostgreSQL's slot): d2d_<job>_<random>, unique on a server several d2d installations read."""
    return f"d2d_{job_id}_{uuid.uuid4().hex[:12]}"
