"""The fixture application's release: which schema its models describe.

Release 2 of the fixture: records have a note (alembic revision f1a7c0de0002).
"""

SCHEMA = 2
