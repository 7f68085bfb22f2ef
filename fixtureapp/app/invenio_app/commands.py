"""The invenio command's groups (flask.commands entry points).

Each does for real, against PostgreSQL, RabbitMQ and the search engine, what
the InvenioRDM command of the same name does where the deployment touches it:

    invenio db init | db create
    invenio alembic upgrade [TARGET] | stamp [TARGET] | current | heads
    invenio files location create [--default] NAME URI
    invenio roles create NAME | roles add EMAIL ROLE
    invenio access allow ACTION role NAME
    invenio users create EMAIL --password PW [--active] [--confirm]
    invenio index init
    invenio rdm-records custom-fields init | rdm-records demo
    invenio communities custom-fields init
    invenio rdm fixtures
    invenio queues declare
"""

import socket

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from kombu import Connection, Exchange, Queue
from werkzeug.security import generate_password_hash

from . import config, db as database, search

# The statistics queues invenio-stats declares (events go to them until the
# aggregation tasks read them).
STATS_QUEUES = ("stats-file-download", "stats-record-view")

# What "invenio rdm fixtures" loads: a vocabulary, as InvenioRDM loads its own.
RESOURCE_TYPES = (("dataset", "Dataset"), ("publication", "Publication"), ("software", "Software"))


def _engine():
    return database.engine(current_app.config)


def _execute(sql, **params):
    with _engine().begin() as conn:
        return conn.execute(sa.text(sql), params)


# db ------------------------------------------------------------------------

db = AppGroup("db", help="Database commands.")


@db.command("init")
def db_init():
    """Check that the database exists (the services host's provisioning made it)."""
    with _engine().connect() as conn:
        name = conn.execute(sa.text("SELECT current_database()")).scalar()
    click.echo("Database %s exists." % name)


@db.command("create")
def db_create():
    """Create every table of the models and stamp alembic at every head."""
    click.secho("Creating all tables!", fg="yellow", bold=True)
    database.create_all(_engine())
    click.secho("Created all tables!", fg="green")


# alembic -------------------------------------------------------------------

alembic = AppGroup("alembic", help="Schema migrations (alembic branches from invenio_db.alembic).")


@alembic.command("upgrade")
@click.argument("target", default="heads")
def alembic_upgrade(target):
    """Apply the revisions up to TARGET (default: every head)."""
    ran = database.upgrade(_engine(), target)
    click.echo("Applied: %s" % (" ".join(ran) if ran else "nothing, the database is at %s" % target))


@alembic.command("stamp")
@click.argument("target", default="heads")
def alembic_stamp(target):
    """Mark the database as being at TARGET without running anything."""
    database.stamp(_engine(), target)


@alembic.command("current")
def alembic_current():
    """Print the revisions the database is at."""
    click.echo(" ".join(database.current(_engine())))


@alembic.command("heads")
def alembic_heads():
    """Print the head revisions of every branch."""
    click.echo(" ".join(database.heads()))


# files ---------------------------------------------------------------------

files = AppGroup("files", help="File storage commands.")
location = AppGroup("location", help="Files locations.")
files.add_command(location)


@location.command("create")
@click.argument("name")
@click.argument("uri")
@click.option("--default", is_flag=True, help="Make it the default location.")
def location_create(name, uri, default):
    """Create the files location NAME at URI."""
    with _engine().begin() as conn:
        if default:
            conn.execute(sa.text('UPDATE files_location SET "default" = false, updated = now() WHERE "default"'))
        conn.execute(
            sa.text('INSERT INTO files_location (name, uri, "default") VALUES (:n, :u, :d)'),
            {"n": name, "u": uri, "d": default},
        )
    click.secho("Location %s stored in the database %s" % (uri, "(default)" if default else ""), fg="green")


@location.command("list")
def location_list():
    """List the files locations."""
    rows = _execute('SELECT name, uri, "default" FROM files_location ORDER BY id')
    for name, uri, default in rows:
        click.echo("%s %s%s" % (name, uri, " default" if default else ""))


# roles, access, users ------------------------------------------------------

roles = AppGroup("roles", help="Role commands.")


@roles.command("create")
@click.argument("name")
def roles_create(name):
    """Create the role NAME."""
    _execute("INSERT INTO accounts_role (name) VALUES (:n)", n=name)
    click.secho("Role %s created." % name, fg="green")


@roles.command("add")
@click.argument("email")
@click.argument("role")
def roles_add(email, role):
    """Give the user EMAIL the role ROLE."""
    res = _execute(
        "INSERT INTO accounts_userrole (user_id, role_id)"
        " SELECT u.id, r.id FROM accounts_user u, accounts_role r WHERE u.email = :e AND r.name = :r",
        e=email, r=role,
    )
    if res.rowcount != 1:
        raise click.ClickException("no user %s or no role %s" % (email, role))
    click.secho("Role %s added to %s." % (role, email), fg="green")


access = AppGroup("access", help="Access commands.")


@access.command("allow")
@click.argument("action")
@click.argument("kind", type=click.Choice(["role"]))
@click.argument("name")
def access_allow(action, kind, name):
    """Allow ACTION to the role NAME."""
    res = _execute(
        "INSERT INTO access_actionsroles (action, role_id) SELECT :a, id FROM accounts_role WHERE name = :n",
        a=action, n=name,
    )
    if res.rowcount != 1:
        raise click.ClickException("no role %s" % name)
    click.secho("Action %s allowed to role %s." % (action, name), fg="green")


users = AppGroup("users", help="User commands.")


@users.command("create")
@click.argument("email")
@click.option("--password", required=True)
@click.option("--active", is_flag=True)
@click.option("--confirm", is_flag=True)
def users_create(email, password, active, confirm):
    """Create the user EMAIL."""
    _execute(
        "INSERT INTO accounts_user (email, password, active, confirmed_at)"
        " VALUES (:e, :p, :a, CASE WHEN :c THEN now() END)",
        e=email, p=generate_password_hash(password), a=active, c=confirm,
    )
    click.secho("User %s created." % email, fg="green")


# search --------------------------------------------------------------------

def _search(what, body):
    """PUT body at the index's path, or report the stand-in."""
    prefix = str(current_app.config.get("SEARCH_INDEX_PREFIX", ""))
    try:
        addr = search.reachable(config.search_hosts(current_app.config))
    except search.StandIn as err:
        click.echo("%s: skipped: stand-in (%s)" % (what, err))
        return
    search.put(addr, body[0].replace("{prefix}", prefix), body[1])
    click.echo("%s: done on %s:%d" % (what, addr[0], addr[1]))


index = AppGroup("index", help="Search index commands.")


@index.command("init")
def index_init():
    """Create the records index with its mapping."""
    _search("index init", ("/{prefix}fixture-records-v1", {"mappings": {"properties": {
        "title": {"type": "text"}, "host": {"type": "keyword"}, "created": {"type": "date"}}}}))


def _custom_fields(group_name, what):
    grp = AppGroup(group_name, help="%s commands." % what)
    cf = AppGroup("custom-fields", help="Custom fields.")
    grp.add_command(cf)

    @cf.command("init")
    def init():
        """Add the custom fields to the index mapping."""
        _search("%s custom-fields init" % group_name, ("/{prefix}fixture-records-v1/_mapping",
                {"properties": {"custom_fields": {"type": "object"}}}))

    return grp


rdm_records = _custom_fields("rdm-records", "Records")
communities = _custom_fields("communities", "Communities")


@rdm_records.command("demo")
def rdm_records_demo():
    """Create demo records (only when the site asks for demo data)."""
    for i in range(1, 4):
        _execute("INSERT INTO fixture_records (title, host) VALUES (:t, :h)", t="Demo record %d" % i, h=socket.gethostname())
    click.echo("Created 3 demo records.")


rdm = AppGroup("rdm", help="InvenioRDM commands.")


@rdm.command("fixtures")
def rdm_fixtures():
    """Load the vocabularies."""
    for term, title in RESOURCE_TYPES:
        _execute(
            "INSERT INTO vocabularies (scheme, term, title) VALUES ('resourcetypes', :t, :ti)"
            " ON CONFLICT (scheme, term) DO NOTHING", t=term, ti=title,
        )
    click.echo("Loaded %d resource types." % len(RESOURCE_TYPES))


# queues --------------------------------------------------------------------

queues = AppGroup("queues", help="Message queue commands.")


@queues.command("declare")
def queues_declare():
    """Declare the statistics queues on the broker."""
    exchange = Exchange("events", type="direct", durable=True)
    url = config.broker_url(current_app.config)
    with Connection(url, connect_timeout=10) as conn:
        channel = conn.channel()
        for name in STATS_QUEUES:
            Queue(name, exchange=exchange, routing_key=name, durable=True)(channel).declare()
    click.echo("Declared queues: %s" % " ".join(STATS_QUEUES))
