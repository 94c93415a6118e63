"""For an application's own Alembic ``env.py``: keep autogenerate away from Faroe's tables.

Faroe's tables are created and changed by Faroe's migrations (``faroe_flask:migrations/versions``),
never by the application's autogenerate. ``alembic_filters`` returns the ``include_name`` and
``include_object`` hooks that hide them, whatever the configuration::

    from faroe_flask.sql import alembic_filters

    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        **alembic_filters(context.config),
    )

Hidden are the tables named by the migration settings in the application's ``alembic.ini`` (the
same ``faroe_storage_table`` and ``faroe_users_table`` that Faroe's migrations read; an empty
``faroe_users_table`` says the users table is the application's own, which stays visible), Faroe's
version table ``faroe_alembic_version`` and every table of ``faroe_flask.sql.metadata`` (so that
listing that metadata in ``target_metadata`` does no harm). The application's own filters, if
any, are passed in and still apply to everything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, TypedDict

from alembic.config import Config
from sqlalchemy import Table

from .migrate import DEFAULT_VERSION_TABLE, migration_options
from .tables import metadata as faroe_metadata

__all__ = ["AlembicFilters", "alembic_filters", "faroe_table_names"]

IncludeName = Callable[[str | None, str, Any], bool]
IncludeObject = Callable[[Any, str | None, str, bool, Any], bool]


class AlembicFilters(TypedDict):
    """Keyword arguments for ``alembic.context.configure``."""

    include_name: IncludeName
    include_object: IncludeObject


def faroe_table_names(config: Config | None = None) -> frozenset[str]:
    """The names of the tables Faroe's migrations own under ``config``'s settings.

    The storage table, the users table unless it is the application's own (empty
    ``faroe_users_table``), and Faroe's version tables (the configured one and the default).
    """
    options = migration_options(config)
    names = {options.storage_table, options.version_table, DEFAULT_VERSION_TABLE}
    if options.users_table is not None:
        names.add(options.users_table)
    return frozenset(names)


def alembic_filters(
    config: Config | None = None,
    *,
    include_name: IncludeName | None = None,
    include_object: IncludeObject | None = None,
    also_exclude: Iterable[str] = (),
) -> AlembicFilters:
    """``include_name`` / ``include_object`` hooks that leave Faroe's tables out of autogenerate.

    ``config`` is the application's Alembic ``Config`` (``context.config``); ``include_name`` and
    ``include_object`` are the application's own hooks, consulted for everything else;
    ``also_exclude`` names more tables to hide.
    """
    hidden = faroe_table_names(config) | frozenset(also_exclude)

    def faroe_include_name(name: str | None, type_: str, parent_names: Any) -> bool:
        if type_ == "table" and name in hidden:
            return False
        return include_name(name, type_, parent_names) if include_name is not None else True

    def faroe_include_object(
        object_: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
    ) -> bool:
        if type_ == "table" and (name in hidden or _is_faroe_table(object_)):
            return False
        if include_object is not None:
            return include_object(object_, name, type_, reflected, compare_to)
        return True

    return AlembicFilters(include_name=faroe_include_name, include_object=faroe_include_object)


def _is_faroe_table(object_: Any) -> bool:
    return isinstance(object_, Table) and object_.metadata is faroe_metadata
