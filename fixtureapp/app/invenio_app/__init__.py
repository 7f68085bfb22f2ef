"""Fixture application that stands in for InvenioRDM in invenio-infra's tests.

It is built only from Debian's python3-flask, python3-celery, python3-psycopg2
and python3-redis, and shows the machinery that runs it what InvenioRDM shows:
the uWSGI modules ``invenio_app.wsgi_ui:application`` and
``invenio_app.wsgi_rest:application``, the Celery application
``invenio_app.celery`` (attribute ``celery``), and the ``INVENIO_*``
environment variables of /etc/invenio/invenio.env. Each route exercises one
part of a deployment's wiring: PostgreSQL, RabbitMQ, Redis, Celery beat and
the shared file storage.
"""
