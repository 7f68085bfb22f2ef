"""The fixture application's release: which schema its models describe.

Release 2 of the fixture (fixtureapp, Release2) replaces this file
and adds one alembic revision, so that an upgrade test has a migration to run.
"""

SCHEMA = 1
