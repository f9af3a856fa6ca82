"""Version 8: Alembic keeps the schema's version; the hand-kept ``schema_migrations`` table goes.

A database of the hand-kept migrations was stamped with its version before this ran (see
:func:`iotcard.collector._schema.migrate`); a fresh one made the table in revision 0001."""

from __future__ import annotations

from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_table("schema_migrations")


def downgrade() -> None:
    raise NotImplementedError("the collector's schema only moves forward: restore a backup to go back")
