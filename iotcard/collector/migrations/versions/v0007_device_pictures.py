"""Version 7: device pictures for the console.

The DDL is version 7's function in :mod:`iotcard.collector._schema`, the one the hand-kept migrations ran, so
databases made before Alembic and fresh ones have the same tables."""

from __future__ import annotations

from alembic import op

from iotcard.collector._schema import _upgrade_v7

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _upgrade_v7(op.get_bind())


def downgrade() -> None:
    raise NotImplementedError("the collector's schema only moves forward: restore a backup to go back")
