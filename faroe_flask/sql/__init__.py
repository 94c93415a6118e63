"""SQL storage and user store on SQLAlchemy Core (SQLite, PostgreSQL, MySQL/MariaDB).

    from faroe_flask.sql import SQLStorage, SQLUserStore, create_engine, upgrade_database

    engine = create_engine("postgresql+psycopg://faroe@localhost/app")
    upgrade_database(engine)                  # creates faroe_storage and faroe_users
    storage, user_store = SQLStorage(engine), SQLUserStore(engine)
"""

from __future__ import annotations

from .alembic import AlembicFilters, alembic_filters, faroe_table_names
from .engine import SQLError, SQLIntegrityError, create_engine
from .migrate import (
    MIGRATIONS_LOCATION,
    VERSIONS_LOCATION,
    MigrationConflictError,
    MigrationOptions,
    current_revisions,
    downgrade_database,
    migration_options,
    upgrade_database,
)
from .password_import import ImportReport, import_werkzeug_hashes
from .storage import SQLStorage
from .tables import (
    USER_COLUMNS,
    make_storage_table,
    make_users_table,
    metadata,
    storage_table,
    users_table,
)
from .users import SQLUserStore

__all__ = [
    "AlembicFilters",
    "ImportReport",
    "MIGRATIONS_LOCATION",
    "USER_COLUMNS",
    "VERSIONS_LOCATION",
    "MigrationConflictError",
    "MigrationOptions",
    "SQLError",
    "SQLIntegrityError",
    "SQLStorage",
    "SQLUserStore",
    "alembic_filters",
    "create_engine",
    "current_revisions",
    "downgrade_database",
    "faroe_table_names",
    "import_werkzeug_hashes",
    "make_storage_table",
    "make_users_table",
    "metadata",
    "migration_options",
    "storage_table",
    "upgrade_database",
    "users_table",
]
