"""Turning an application's Werkzeug password hash column into Faroe's three password columns.

    from faroe_flask.sql import import_werkzeug_hashes

    report = import_werkzeug_hashes(user_store, "password")   # the SQLUserStore on your table
    report.converted, report.unsupported, report.algorithm_ids

(or ``flask faroe users import-werkzeug-hashes password``). Every row whose source column holds a
``generate_password_hash`` string and whose ``password_hash_algorithm_id`` is still empty (``''``
or ``NULL``) gets Faroe's ``password_hash``, ``password_salt`` and ``password_hash_algorithm_id``
(see ``faroe_flask.legacy_passwords.split_werkzeug_hash``). A row that already has an algorithm
id is never touched, so running it again is harmless and a password changed through Faroe is
never overwritten by the old one. The source column is left as it is. Rows are read in id order,
``batch_size`` at a time, each batch written in one short transaction.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from sqlalchemy import Column, ColumnElement, String, and_, bindparam, literal_column, or_, select, update

from ..legacy_passwords import split_werkzeug_hash
from .users import SQLUserStore

__all__ = ["ImportReport", "import_werkzeug_hashes"]


@dataclasses.dataclass(frozen=True)
class ImportReport:
    """What an import did: rows converted, values that were not Werkzeug hashes (left alone),
    and the algorithm ids written (each must be among the server's user algorithms)."""

    converted: int
    unsupported: int
    algorithm_ids: frozenset[str]


def import_werkzeug_hashes(
    user_store: SQLUserStore, source_column: str, *, batch_size: int = 500
) -> ImportReport:
    """Convert ``source_column`` (the column's key or database name in ``user_store.table``)."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    table = user_store.table
    source: ColumnElement[Any] | None = table.c.get(source_column)
    if source is None:
        source = next((c for c in table.c if c.name == source_column), None)
    if source is None:
        # A store given the table's name knows Faroe's columns only: name the column as it is.
        if not (user_store._named_table and source_column.isidentifier()):
            raise ValueError(f"table {table.name} has no column {source_column}")
        quoted = user_store.engine.dialect.identifier_preparer.quote(source_column)
        source = literal_column(quoted, String())
    columns: dict[str, Column[Any]] = user_store._columns  # the store's own column mapping
    id_column, algorithm = columns["id"], columns["password_hash_algorithm_id"]
    pending = and_(source.is_not(None), or_(algorithm.is_(None), algorithm == ""))
    write = (
        update(table)
        .where(id_column == bindparam("b_id"), or_(algorithm.is_(None), algorithm == ""))
        .values(
            {
                columns["password_hash"]: bindparam("b_hash"),
                columns["password_salt"]: bindparam("b_salt"),
                algorithm: bindparam("b_algorithm"),
            }
        )
    )
    converted = unsupported = 0
    algorithm_ids: set[str] = set()
    last_id: Any = None
    while True:
        batch = select(id_column, source).where(pending).order_by(id_column).limit(batch_size)
        if last_id is not None:
            batch = batch.where(id_column > last_id)
        with user_store.engine.begin() as connection:
            rows = connection.execute(batch).all()
            changes: list[dict[str, Any]] = []
            for row_id, value in rows:
                try:
                    password_hash, algorithm_id, salt = split_werkzeug_hash(str(value))
                except ValueError:
                    unsupported += 1
                    continue
                algorithm_ids.add(algorithm_id)
                changes.append(
                    {"b_id": row_id, "b_hash": password_hash, "b_salt": salt, "b_algorithm": algorithm_id}
                )
            if changes:
                written = connection.execute(write, changes).rowcount
                sane = connection.dialect.supports_sane_multi_rowcount and written >= 0
                converted += written if sane else len(changes)
        if len(rows) < batch_size:
            return ImportReport(converted, unsupported, frozenset(algorithm_ids))
        last_id = rows[-1][0]
