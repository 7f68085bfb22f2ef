"""Release 2: records get a note; the run is logged in fixture_migration_runs.

Revision ID: f1a7c0de0002
"""

import socket

import sqlalchemy as sa
from alembic import op

revision = "f1a7c0de0002"
down_revision = "f1a7c0de0001"
branch_labels = ()
depends_on = None


def upgrade():
    """Add fixture_records.note and log that this revision ran, and where."""
    op.add_column("fixture_records", sa.Column("note", sa.Text))
    op.execute(
        sa.text("INSERT INTO fixture_migration_runs (revision, host) VALUES (:r, :h)")
        .bindparams(r=revision, h=socket.gethostname())
    )


def downgrade():
    """Drop the note."""
    op.drop_column("fixture_records", "note")
