"""uWSGI entry point of the UI application: invenio_app.wsgi_ui:application."""

from .factory import create_ui

application = create_ui()
