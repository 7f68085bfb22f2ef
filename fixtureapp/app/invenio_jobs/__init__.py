"""Stand-in for invenio-jobs: only the beat scheduler the deployment names.

InvenioRDM v13 runs a second Celery beat with
--scheduler invenio_jobs.services.scheduler:RunScheduler; the roles start it
on the beat host, so the fixture application must have that class.
"""
