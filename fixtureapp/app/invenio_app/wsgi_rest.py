"""uWSGI entry point of the REST API application: invenio_app.wsgi_rest:application.

uWSGI mounts it at /api (mount = /api=invenio_app.wsgi_rest:application with
manage-script-name), so its /ping answers at /api/ping.
"""

from .factory import create_api

application = create_api()
