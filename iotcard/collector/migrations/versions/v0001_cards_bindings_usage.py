"""Version 1: card records, bindings, alarms, usage, idempotency.

The DDL is version 1's function in :mod:`iotcard.collector._schema`, the one the hand-kept migrations ran, so
databases made before Alembic and fresh ones have the same tables."""

from __future__ import annotations

from alembic import op

from iotcard.collector._schema import _create_v1

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_v1(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("the collector's schema only moves forward: restore a backup to go back")
