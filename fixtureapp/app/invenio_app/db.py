"""The database, as invenio-db manages it: models and alembic branches from entry points.

Models come from the invenio_db.models entry points, the alembic revision
directories from invenio_db.alembic ("NAME = package:alembic"). The schema
is made by ``invenio db create`` (create_all, then alembic stamp: the
database is at every head) and changed by ``invenio alembic upgrade``, with
Debian's python3-alembic, the way Flask-Alembic drives alembic: without an
env.py, from a configuration built here.
"""

import sqlalchemy as sa
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.script import ScriptDirectory

from . import config, entrypoints
from .models import metadata


def engine(cfg):
    """Return an engine for SQLALCHEMY_DATABASE_URI (TLS and all, as the URL says)."""
    uri = cfg.get("SQLALCHEMY_DATABASE_URI")
    if not uri:
        raise ValueError("SQLALCHEMY_DATABASE_URI is not set")
    return sa.create_engine(str(uri), future=True, connect_args={"connect_timeout": 10})


def load_models():
    """Import every models module named by invenio_db.models; return the metadata."""
    entrypoints.load_all(entrypoints.MODELS)
    return metadata


def script_directory():
    """Return alembic's view of every branch the invenio_db.alembic entry points name."""
    locations = entrypoints.directories(entrypoints.ALEMBIC)
    cfg = Config()
    cfg.set_main_option("script_location", locations[0])
    cfg.set_main_option("version_locations", " ".join(locations))
    return cfg, ScriptDirectory.from_config(cfg)


def _run(eng, fn):
    """Run fn(rev, context) inside an alembic environment on a connection of eng."""
    cfg, script = script_directory()
    env = EnvironmentContext(cfg, script)
    with eng.connect() as conn:
        env.configure(connection=conn, target_metadata=load_models(), fn=lambda rev, ctx: fn(script, rev, ctx))
        with env.begin_transaction():
            env.run_migrations()
        conn.commit()


def upgrade(eng, target="heads"):
    """Apply every revision up to target; return the revisions that ran."""
    ran = []

    def fn(script, rev, ctx):
        steps = script._upgrade_revs(target, rev)
        ran.extend(s.revision.revision for s in steps)
        return steps

    _run(eng, fn)
    return ran


def stamp(eng, target="heads"):
    """Mark the database as being at target without running revisions."""
    def fn(script, rev, ctx):
        return script._stamp_revs(target, rev)

    _run(eng, fn)


def current(eng):
    """Return the revisions the database is at."""
    from alembic.runtime.migration import MigrationContext

    with eng.connect() as conn:
        return sorted(MigrationContext.configure(conn).get_current_heads())


def heads():
    """Return the head revisions of every branch."""
    return sorted(script_directory()[1].get_heads())


def create_all(eng):
    """Create every table of the models, then stamp alembic at every head."""
    load_models().create_all(eng)
    stamp(eng)


def dsn(cfg):
    """Return the libpq URI of the database (for psycopg2 and pg_dump)."""
    return config.database_dsn(cfg.get("SQLALCHEMY_DATABASE_URI"))
