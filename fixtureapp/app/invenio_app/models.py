"""Database models (invenio_db.models entry point), as SQLAlchemy Core tables.

The tables InvenioRDM's modules own where the deployment touches them:
files_location (invenio-files-rest), accounts_user, accounts_role and
accounts_userrole (invenio-accounts), access_actionsroles (invenio-access),
and the fixture's own records, file objects, vocabularies and a log of
migrations that ran.
"""

import sqlalchemy as sa

from .release import SCHEMA


def define(metadata, schema=SCHEMA):
    """Add the tables of the given schema version to metadata and return it."""
    now = sa.text("now()")
    sa.Table(
        "files_location", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(20), nullable=False, unique=True),
        sa.Column("uri", sa.String(255), nullable=False),
        sa.Column("default", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False, server_default=now),
        sa.Column("updated", sa.DateTime(timezone=True), nullable=False, server_default=now),
    )
    sa.Table(
        "files_files", metadata,
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("key", sa.String(255), nullable=False, unique=True),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("checksum", sa.String(255), nullable=False),
        sa.Column("location_id", sa.Integer, sa.ForeignKey("files_location.id"), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False, server_default=now),
    )
    sa.Table(
        "accounts_user", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("password", sa.String(255)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("confirmed_at", sa.DateTime(timezone=True)),
    )
    sa.Table(
        "accounts_role", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(80), nullable=False, unique=True),
    )
    sa.Table(
        "accounts_userrole", metadata,
        sa.Column("user_id", sa.Integer, sa.ForeignKey("accounts_user.id"), primary_key=True),
        sa.Column("role_id", sa.Integer, sa.ForeignKey("accounts_role.id"), primary_key=True),
    )
    sa.Table(
        "access_actionsroles", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("action", sa.String(80), nullable=False),
        sa.Column("role_id", sa.Integer, sa.ForeignKey("accounts_role.id"), nullable=False),
        sa.UniqueConstraint("action", "role_id"),
    )
    sa.Table(
        "vocabularies", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("scheme", sa.String(80), nullable=False),
        sa.Column("term", sa.String(80), nullable=False),
        sa.Column("title", sa.String(255), nullable=False),
        sa.UniqueConstraint("scheme", "term"),
    )
    records = [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False, server_default=now),
    ]
    if schema >= 2:
        records.append(sa.Column("note", sa.Text))
    sa.Table("fixture_records", metadata, *records)
    sa.Table(
        "fixture_migration_runs", metadata,
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("revision", sa.String(32), nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("ran_at", sa.DateTime(timezone=True), nullable=False, server_default=now),
    )
    return metadata


metadata = define(sa.MetaData())
