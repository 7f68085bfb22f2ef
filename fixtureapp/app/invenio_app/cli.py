"""The invenio command: Flask's click CLI, as invenio-app's invenio_app.cli:cli.

The console script ``invenio`` (a console_scripts entry point) runs it. Its
command groups are the flask.commands entry points, which Flask's FlaskGroup
loads from the installed distributions' dist-info, as it does for Invenio's
modules (db, alembic, files, roles, access, users, index, queues, ...).
"""

from flask.cli import FlaskGroup

from .factory import create_cli_app


def _create_app(*args, **kwargs):
    return create_cli_app()


cli = FlaskGroup(create_app=_create_app, load_dotenv=False, help="Command line of the invenio-infra fixture application.")
