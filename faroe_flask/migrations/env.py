"""Alembic environment of Faroe's packaged migrations; the logic is in faroe_flask.sql.migrate."""

from faroe_flask.sql.migrate import run_env

run_env()
