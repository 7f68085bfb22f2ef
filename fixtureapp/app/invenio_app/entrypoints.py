"""Entry points of the installed distributions, found as Invenio finds them.

invenio-base and invenio-db find every blueprint, model module, alembic
branch, Celery task module and CLI command through the entry points in the
``*.dist-info`` directories of the virtualenv (importlib.metadata). The
fixture application does the same, so a package that dropped its dist-info
directory cannot work: LookupError names the missing group.
"""

import importlib
import os
from importlib import metadata

# The groups the application cannot do without.
API_BLUEPRINTS = "invenio_base.api_blueprints"
BLUEPRINTS = "invenio_base.blueprints"
MODELS = "invenio_db.models"
ALEMBIC = "invenio_db.alembic"
TASKS = "invenio_celery.tasks"


def group(name):
    """Return the entry points of group name, sorted by name; LookupError if none."""
    try:
        eps = metadata.entry_points(group=name)
    except TypeError:  # Python 3.9: a dict of groups
        eps = metadata.entry_points().get(name, [])
    eps = sorted(eps, key=lambda ep: ep.name)
    if not eps:
        raise LookupError(
            "no entry point in group %s: the application's *.dist-info directory "
            "is missing from the virtualenv's site-packages" % name
        )
    return eps


def modules(name):
    """Return the module names the entry points of group name point to."""
    return [ep.value.split(":", 1)[0] for ep in group(name)]


def load_all(name):
    """Load every entry point of group name and return the loaded objects."""
    return [ep.load() for ep in group(name)]


def directories(name):
    """Return the directories that entry points "NAME = package:subdir" name.

    invenio-db reads invenio_db.alembic this way: the value names a package
    and, after the colon, the directory of alembic revisions inside it.
    """
    dirs = []
    for ep in group(name):
        module, _, sub = ep.value.partition(":")
        pkg = importlib.import_module(module.strip())
        dirs.append(os.path.join(os.path.dirname(pkg.__file__), sub.strip()))
    return dirs
