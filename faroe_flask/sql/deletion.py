"""Deleting a user from a SQL users table whose rows the application's own tables refer to.

``SQLUserStore.delete_user`` runs here, in one of three ways:

* **Plain** (no hook, ``deletion="delete"``): one ``DELETE`` in autocommit. The database applies
  the application's foreign keys as declared: ``ON DELETE CASCADE`` removes the rows that refer
  to the user, ``SET NULL`` clears them, and a plain foreign key refuses.
* **With a ``before_delete`` hook**: one transaction. The user's row is read and locked
  (``SELECT ... FOR UPDATE``; SQLite's ``BEGIN IMMEDIATE`` holds the write lock already), the hook
  runs the application's own statements on the same connection (``UserDeletionTransaction``), to
  remove or re-assign its rows, and then the row is deleted: all of it, or none of it.
* **Anonymise** (``deletion="anonymise"``): the same transaction, but the row stays, for the
  foreign keys that point at it. Its email address becomes ``deleted:<random>`` (never a valid
  address: the old one is free for a new account, and no flow can name the row), the password is
  removed (algorithm ``none``), the row is disabled, and every counter moves on, so that a flow
  that read the user before cannot write to it. The store then treats the row as missing.

When the database still refuses (a constraint), everything is rolled back and
``UserDeletionRefusedError`` says which constraint refused, from the schema's names only, never
a value. PostgreSQL and MySQL/MariaDB name it in the error; SQLite does not, so the store looks, in
the same transaction, for the foreign key whose rows still refer to the user.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

from sqlalchemy import ColumnElement, Table, bindparam, delete, select, text, update
from sqlalchemy.sql.expression import ClauseElement

from ..core.interfaces import UserDeletionRefusedError, UserNotFoundError
from .runner import (
    Runner,
    SQLIntegrityError,
    Transaction,
    describe_code,
    is_foreign_key_violation,
    translate_integrity_error,
)

__all__ = [
    "ANONYMISED_EMAIL_PREFIX",
    "BeforeDelete",
    "DELETION_CHOICES",
    "Deletion",
    "UserDeleter",
    "UserDeletionTransaction",
]

Deletion = Literal["delete", "anonymise"]
DELETION_CHOICES: tuple[Deletion, ...] = ("delete", "anonymise")
#: How an anonymised row's email address starts (no valid address lacks an ``@``).
ANONYMISED_EMAIL_PREFIX = "deleted:"
COUNTERS = ("email_address_counter", "password_hash_counter", "disabled_counter", "sessions_counter")


class UserDeletionTransaction:
    """What a ``before_delete`` hook receives: the user, and the open transaction in which the
    user's row is deleted (or anonymised) once the hook returns.

    ``execute``, ``all``, ``first`` and ``scalar`` run SQLAlchemy Core statements (``delete``,
    ``update``, ``insert``, ``select``, ``text``) that carry their own values, on the store's
    connection, inside that transaction: an exception from the hook, or a refusal of the delete,
    rolls them back with the rest. Rows come back as tuples. The hook runs again if the database
    picks the transaction as a deadlock victim (the first run then had no effect): keep anything
    but SQL statements out of it.
    """

    __slots__ = ("user_id", "row", "anonymise", "_runner", "_transaction")

    def __init__(
        self,
        runner: Runner,
        transaction: Transaction,
        user_id: str,
        row: Mapping[str, Any],
        anonymise: bool,
    ) -> None:
        self._runner = runner
        self._transaction = transaction
        #: Faroe's id of the user.
        self.user_id = user_id
        #: The user's row as it is now, by column key: every column of the store's table (Faroe's
        #: columns only when the store was given the table by name).
        self.row = row
        #: Whether the row is kept and anonymised (``deletion="anonymise"``) rather than deleted.
        self.anonymise = anonymise

    def execute(self, statement: ClauseElement) -> int:
        """Run a statement; return the number of rows it matched."""
        return self._transaction.execute(self._runner.prepare(statement, values_inline=True), {})

    def all(self, statement: ClauseElement) -> list[tuple[Any, ...]]:
        """Run a query; return its rows."""
        return self._transaction.read_all(self._runner.prepare(statement, values_inline=True), {})

    def first(self, statement: ClauseElement) -> tuple[Any, ...] | None:
        """Run a query; return its first row, or ``None``."""
        rows = self.all(statement)
        return rows[0] if rows else None

    def scalar(self, statement: ClauseElement) -> Any:
        """Run a query; return the first column of its first row, or ``None``."""
        row = self.first(statement)
        return None if row is None else row[0]


BeforeDelete = Callable[[UserDeletionTransaction], None]


class UserDeleter:
    """``delete_user`` of one ``SQLUserStore`` (see the module text).

    ``is_user`` is the store's condition for "the row of ``:where_id``" (with anonymised rows left
    out when the store anonymises); ``before_delete`` may be changed at any time.
    """

    def __init__(
        self,
        runner: Runner,
        table: Table,
        columns: Mapping[str, Any],
        is_user: ColumnElement[bool],
        generate_id: Callable[[], str],
        *,
        deletion: Deletion = "delete",
        before_delete: BeforeDelete | None = None,
    ) -> None:
        if deletion not in DELETION_CHOICES:
            raise ValueError(f"deletion must be one of {', '.join(DELETION_CHOICES)}")
        self.before_delete = before_delete
        self._runner = runner
        self._table = table
        self._id_column = columns["id"]
        self._generate_id = generate_id
        self._row_keys = tuple(column.key for column in table.c)
        self._lock_row = runner.prepare(select(*table.c).where(is_user).with_for_update())
        self._delete = runner.prepare(delete(table).where(is_user))
        self._anonymise = None
        if deletion == "anonymise":
            changes: dict[Any, Any] = {
                columns["email_address"]: bindparam("new_email_address"),
                columns["password_hash"]: b"",
                columns["password_salt"]: b"",
                columns["password_hash_algorithm_id"]: "none",
                columns["disabled"]: True,
            }
            for counter in COUNTERS:
                changes[columns[counter]] = columns[counter] + 1
            if "display_name" in columns:
                changes[columns["display_name"]] = ""
            self._anonymise = runner.prepare(update(table).where(is_user).values(changes))

    def delete_user(self, user_id: str) -> None:
        hook = self.before_delete
        values: dict[str, Any] = {"where_id": user_id}
        if self._anonymise is not None:
            values["new_email_address"] = ANONYMISED_EMAIL_PREFIX + self._generate_id()
        in_transaction = hook is not None or self._anonymise is not None

        def work(transaction: Transaction) -> int:
            if in_transaction:
                row = transaction.read_one(self._lock_row, values)
                if row is None:
                    return 0
                if hook is not None:
                    hook(
                        UserDeletionTransaction(
                            self._runner,
                            transaction,
                            user_id,
                            dict(zip(self._row_keys, row)),
                            self._anonymise is not None,
                        )
                    )
            return self._remove_row(transaction, values)

        try:
            changed = self._runner.transaction(work, single_statement=not in_transaction)
        except SQLIntegrityError as exc:
            raise UserDeletionRefusedError(str(exc)) from None
        if changed == 0:
            raise UserNotFoundError(user_id)

    def _remove_row(self, transaction: Transaction, values: Mapping[str, Any]) -> int:
        try:
            return transaction.execute(self._anonymise or self._delete, values)
        except self._runner.integrity_error as exc:
            if self._runner.backend != "sqlite" or not is_foreign_key_violation(exc):
                raise
            # SQLite does not say which foreign key refused: find it while the row still exists
            # (the failed statement alone was undone; the transaction, if any, is still open).
            found = self._sqlite_referencing(transaction, str(values["where_id"]))
            refusal = SQLIntegrityError(False, describe_code(exc), found, foreign_key_violation=True)
            raise UserDeletionRefusedError(str(refusal if found else translate_integrity_error(exc))) from None

    def _sqlite_referencing(self, transaction: Transaction, user_id: str) -> str | None:
        """The first foreign key (``child(columns) REFERENCES users(columns)``) without an ``ON
        DELETE`` action whose rows still refer to the user's row, else ``None``."""
        quote = self._runner.dialect.identifier_preparer.quote
        parent = self._table.name

        def rows(sql: str, **values: Any) -> list[tuple[Any, ...]]:
            statement = text(sql).bindparams(**values) if values else text(sql)
            return transaction.read_all(self._runner.prepare(statement, values_inline=True), {})

        primary_key = [
            str(name) for _cid, name, _type, _nn, _default, pk in sorted(
                rows(f"PRAGMA table_info({quote(parent)})"), key=lambda info: info[5]
            ) if pk
        ]
        tables = rows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        for (child,) in tables:
            keys: dict[int, list[tuple[Any, ...]]] = {}
            for key in rows(f"PRAGMA foreign_key_list({quote(str(child))})"):
                keys.setdefault(int(key[0]), []).append(key)
            for parts in keys.values():
                first = parts[0]
                if str(first[2]).lower() != parent.lower() or str(first[6]).upper() not in ("NO ACTION", "RESTRICT"):
                    continue
                parts.sort(key=lambda part: int(part[1]))
                child_columns = [str(part[3]) for part in parts]
                # A foreign key without parent columns refers to the parent's primary key.
                named = [part[4] for part in parts]
                parent_columns = primary_key if None in named else [str(name) for name in named]
                if len(parent_columns) != len(child_columns):
                    continue
                left = ", ".join(quote(name) for name in child_columns)
                right = ", ".join(quote(name) for name in parent_columns)
                found = rows(
                    f"SELECT 1 FROM {quote(str(child))} WHERE ({left}) IN (SELECT {right} FROM "
                    f"{quote(parent)} WHERE {quote(self._id_column.name)} = :user_id) LIMIT 1",
                    user_id=user_id,
                )
                if found:
                    return (
                        f"foreign key {child}({', '.join(child_columns)}) REFERENCES "
                        f"{parent}({', '.join(parent_columns)})"
                    )
        return None
