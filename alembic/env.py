"""Alembic environment for ``alembic`` run from the repository root (see alembic.ini).

The migration scripts live in the package (faroe_flask/migrations/versions) so that an installed
faroe-flask can migrate too; this env.py and the packaged one share faroe_flask.sql.migrate.run_env.
"""

from faroe_flask.sql.migrate import run_env

run_env()
