"""``SQLUserStore``: the user store (foundations.md F10.3) on a SQL users table.

The table is ``faroe_flask.sql.users_table`` by default, or any table of the application's that
has the same columns under other names (``column_names``), since Faroe's users are the
application's users.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import (
    Column,
    ColumnElement,
    Connection,
    Delete,
    Engine,
    Row,
    Table,
    Update,
    delete,
    insert,
    select,
    update,
)

from ..core.credentials import generate_id
from ..core.interfaces import User, UserEmailAddressAlreadyUsedError, UserNotFoundError
from .engine import SQLIntegrityError, naive_utc, transaction
from .tables import OPTIONAL_USER_COLUMNS, USER_COLUMNS, users_table

__all__ = ["SQLUserStore", "resolve_user_columns"]

_ALREADY_USED = "email address already used"  # never the address itself: messages get logged


def resolve_user_columns(
    table: Table, column_names: Mapping[str, str | None] | None = None
) -> dict[str, Column[Any]]:
    """Map each logical user column (``USER_COLUMNS``) to a column of ``table``.

    ``column_names`` maps a logical name to the key or the database name of the table's column;
    ``None`` says the table has no such column, which is allowed for ``display_name`` (then always
    ``""``) and ``created_at``. Names not in the mapping are looked up as they are.
    """
    mapping = dict(column_names or {})
    unknown = set(mapping) - set(USER_COLUMNS)
    if unknown:
        raise ValueError(f"unknown user columns: {sorted(unknown)}")
    columns: dict[str, Column[Any]] = {}
    missing: list[str] = []
    for field in USER_COLUMNS:
        name = mapping.get(field, field)
        column = None
        if name is not None:
            column = table.c.get(name)
            if column is None:
                column = next((c for c in table.c if c.name == name), None)
        if column is not None:
            columns[field] = column
        elif field not in OPTIONAL_USER_COLUMNS:
            missing.append(field)
    if missing:
        raise ValueError(f"table {table.name} lacks the user columns {missing}")
    return columns


class SQLUserStore:
    """``UserStore`` whose counter updates are compare-and-swaps done by the database.

    Every change is one ``UPDATE ... SET <counter> = <counter> + 1 WHERE id = :id AND <counter> =
    :expected``; no matching row means "not found" (F10.3 rule 1). Email uniqueness is the
    table's unique constraint; its violation becomes ``UserEmailAddressAlreadyUsedError``. New ids
    come from ``generate_user_id`` (by default 24 characters of Faroe's lowercase alphabet, like
    the protocol's ids); ``created_at`` (when the table has it) from ``clock``.
    """

    def __init__(
        self,
        engine: Engine,
        table: Table = users_table,
        *,
        column_names: Mapping[str, str | None] | None = None,
        generate_user_id: Callable[[], str] = generate_id,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.table = table
        self._columns = resolve_user_columns(table, column_names)
        self._generate_user_id = generate_user_id
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._select = select(
            *(column.label(name) for name, column in self._columns.items() if name != "created_at")
        )

    # UserStore -------------------------------------------------------------------------------------

    def create_user(
        self,
        email_address: str,
        password_hash: bytes,
        password_hash_algorithm_id: str,
        password_salt: bytes,
    ) -> User:
        user = User(
            id=self._generate_user_id(),
            email_address=email_address,
            password_hash=bytes(password_hash),
            password_salt=bytes(password_salt),
            password_hash_algorithm_id=password_hash_algorithm_id,
            disabled=False,
            display_name="",
            email_address_counter=0,
            password_hash_counter=0,
            disabled_counter=0,
            sessions_counter=0,
        )
        values: dict[Column[Any], Any] = {
            column: getattr(user, name)
            for name, column in self._columns.items()
            if name != "created_at"
        }
        if "created_at" in self._columns:
            values[self._columns["created_at"]] = naive_utc(self._clock())
        statement = insert(self.table).values(values)
        try:
            transaction(self.engine, lambda c: c.execute(statement), write=True, single_statement=True)
        except SQLIntegrityError as exc:
            # The id has 120 random bits: a duplicate can only be the email address.
            if exc.unique_violation:
                raise UserEmailAddressAlreadyUsedError(_ALREADY_USED) from None
            raise
        return user

    def get_user(self, user_id: str) -> User:
        return self._get_one(self._is(user_id), user_id)

    def get_user_by_email_address(self, email_address: str) -> User:
        return self._get_one(self._columns["email_address"] == email_address, "no such email address")

    def update_user_email_address(
        self, user_id: str, email_address: str, expected_email_address_counter: int
    ) -> None:
        id_column, email_column = self._columns["id"], self._columns["email_address"]
        taken = select(id_column).where(email_column == email_address, id_column != user_id).limit(1)
        swap = self._swap(
            user_id,
            "email_address_counter",
            expected_email_address_counter,
            email_address=email_address,
        )

        def run(connection: Connection) -> int:
            # Checked first, as MemoryUserStore does, so that a taken address wins over a stale
            # counter; between two concurrent writers the unique constraint decides.
            if connection.execute(taken).first() is not None:
                raise UserEmailAddressAlreadyUsedError(_ALREADY_USED)
            return connection.execute(swap).rowcount

        try:
            changed = transaction(self.engine, run, write=True)
        except SQLIntegrityError as exc:
            if exc.unique_violation:
                raise UserEmailAddressAlreadyUsedError(_ALREADY_USED) from None
            raise
        if changed == 0:
            raise UserNotFoundError(user_id)

    def update_user_password_hash(
        self,
        user_id: str,
        password_hash: bytes,
        password_hash_algorithm_id: str,
        password_salt: bytes,
        expected_password_hash_counter: int,
    ) -> None:
        swap = self._swap(
            user_id,
            "password_hash_counter",
            expected_password_hash_counter,
            password_hash=bytes(password_hash),
            password_hash_algorithm_id=password_hash_algorithm_id,
            password_salt=bytes(password_salt),
        )
        self._change_one(swap, user_id)

    def increment_user_sessions_counter(self, user_id: str, expected_sessions_counter: int) -> None:
        self._change_one(self._swap(user_id, "sessions_counter", expected_sessions_counter), user_id)

    def delete_user(self, user_id: str) -> None:
        self._change_one(delete(self.table).where(self._is(user_id)), user_id)

    # Administration (what the application does; Faroe never calls these) ----------------------

    def set_user_disabled(self, user_id: str, disabled: bool) -> None:
        """Disable or enable a user, incrementing the disabled counter (F10.2)."""
        counter = self._columns["disabled_counter"]
        values = {self._columns["disabled"]: disabled, counter: counter + 1}
        self._change_one(update(self.table).where(self._is(user_id)).values(values), user_id)

    def set_user_display_name(self, user_id: str, display_name: str) -> None:
        """Set the display name passed to the email sender (F10.4)."""
        column = self._columns.get("display_name")
        if column is None:
            raise ValueError(f"table {self.table.name} has no display name column")
        statement = update(self.table).where(self._is(user_id)).values({column: display_name})
        self._change_one(statement, user_id)

    # Internals ---------------------------------------------------------------------------------

    def _is(self, user_id: str) -> ColumnElement[bool]:
        return self._columns["id"] == user_id

    def _get_one(self, condition: ColumnElement[bool], not_found_message: str) -> User:
        statement = self._select.where(condition)
        row = transaction(self.engine, lambda c: c.execute(statement).first(), single_statement=True)
        if row is None:
            raise UserNotFoundError(not_found_message)
        return self._user(row)

    def _user(self, row: Row[Any]) -> User:
        values = row._mapping
        return User(
            id=str(values["id"]),
            email_address=str(values["email_address"]),
            password_hash=bytes(values["password_hash"]),
            password_salt=bytes(values["password_salt"]),
            password_hash_algorithm_id=str(values["password_hash_algorithm_id"]),
            disabled=bool(values["disabled"]),
            display_name=str(values["display_name"]) if "display_name" in values else "",
            email_address_counter=int(values["email_address_counter"]),
            password_hash_counter=int(values["password_hash_counter"]),
            disabled_counter=int(values["disabled_counter"]),
            sessions_counter=int(values["sessions_counter"]),
        )

    def _swap(self, user_id: str, counter_name: str, expected: int, **changes: Any) -> Update:
        """``UPDATE``: apply ``changes`` and count, only if the counter still equals ``expected``."""
        counter = self._columns[counter_name]
        values: dict[Column[Any], Any] = {self._columns[name]: value for name, value in changes.items()}
        values[counter] = counter + 1
        return update(self.table).where(self._is(user_id), counter == expected).values(values)

    def _change_one(self, statement: Update | Delete, user_id: str) -> None:
        """Run the statement; no row matched means the user is missing (or its counter moved)."""
        changed = transaction(
            self.engine, lambda c: c.execute(statement).rowcount, write=True, single_statement=True
        )
        if changed == 0:
            raise UserNotFoundError(user_id)
