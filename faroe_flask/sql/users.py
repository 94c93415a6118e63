"""``SQLUserStore``: the user store (foundations.md F10.3) on a SQL users table.

The table is ``faroe_flask.sql.users_table`` by default, or any table of the application's that
has the same columns under other names (``column_names``), since Faroe's users are the
application's users: a ``Table``, or just its name (no reflection: the store knows the columns
it uses and their types, so the application may build it before the table exists). How a user
is deleted, and what happens to the application's rows that refer to it, is
``faroe_flask.sql.deletion``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, Engine, MetaData, Table, and_, bindparam, insert, select, update

from ..core.credentials import generate_id
from ..core.interfaces import User, UserEmailAddressAlreadyUsedError, UserNotFoundError
from .deletion import ANONYMISED_EMAIL_PREFIX, BeforeDelete, Deletion, UserDeleter
from .engine import naive_utc
from .runner import Prepared, SQLIntegrityError, Transaction, runner_for
from .tables import OPTIONAL_USER_COLUMNS, USER_COLUMNS, make_users_table, users_table

__all__ = ["SQLUserStore", "resolve_user_columns", "users_table_named"]

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


def users_table_named(name: str, column_names: Mapping[str, str | None] | None = None) -> Table:
    """A ``Table`` named ``name`` with the user columns Faroe uses, under the names of
    ``column_names``, with Faroe's types; nothing is read from the database."""
    mapping = dict(column_names or {})
    faroe_columns = make_users_table(MetaData(), name).c
    columns = [
        Column(mapping.get(field, field), faroe_columns[field].type)
        for field in USER_COLUMNS
        if mapping.get(field, field) is not None
    ]
    return Table(name, MetaData(), *columns)


class SQLUserStore:
    """``UserStore`` whose counter updates are compare-and-swaps done by the database.

    Every change is one ``UPDATE ... SET <counter> = <counter> + 1 WHERE id = :id AND <counter> =
    :expected``; no matching row means "not found" (F10.3 rule 1). Email uniqueness is the
    table's unique constraint; its violation becomes ``UserEmailAddressAlreadyUsedError``. New ids
    come from ``generate_user_id`` (by default 24 characters of Faroe's lowercase alphabet, like
    the protocol's ids); ``created_at`` (when the table has it) from ``clock``. The statements are
    compiled once and run by the engine's ``Runner`` (``faroe_flask.sql.runner``).

    ``table`` is a ``Table`` or the table's name. ``before_delete(transaction)`` runs the
    application's statements in the transaction that deletes a user (``UserDeletionTransaction``);
    ``deletion="anonymise"`` keeps the row instead, without its email address and password, and
    the store then never finds it again (``faroe_flask.sql.deletion``).
    """

    def __init__(
        self,
        engine: Engine,
        table: Table | str = users_table,
        *,
        column_names: Mapping[str, str | None] | None = None,
        generate_user_id: Callable[[], str] = generate_id,
        clock: Callable[[], datetime] | None = None,
        before_delete: BeforeDelete | None = None,
        deletion: Deletion = "delete",
    ) -> None:
        #: Whether the table was given by name, so that it holds Faroe's columns only.
        self._named_table = isinstance(table, str)
        if isinstance(table, str):
            table = users_table_named(table, column_names)
        self.engine = engine
        self.table = table
        self._columns = columns = resolve_user_columns(table, column_names)
        self._generate_user_id = generate_user_id
        self._clock = clock or (lambda: datetime.now(timezone.utc))
        self._runner = runner = runner_for(engine)
        #: The user fields the table holds, in the order of the selected columns.
        self._fields = tuple(name for name in columns if name != "created_at")
        is_user = columns["id"] == bindparam("where_id")
        if deletion == "anonymise":
            # An anonymised row is no user: every statement by id leaves it out.
            is_user = and_(is_user, columns["email_address"].not_like(ANONYMISED_EMAIL_PREFIX + "%"))
        self._is_user = is_user
        read = select(*(columns[name] for name in self._fields))
        self._get_by_id = runner.prepare(read.where(is_user))
        self._get_by_email = runner.prepare(
            read.where(columns["email_address"] == bindparam("where_email_address"))
        )
        self._insert = runner.prepare(
            insert(table).values({columns[name]: bindparam(f"new_{name}") for name in columns})
        )
        self._taken = runner.prepare(
            select(columns["id"])
            .where(columns["email_address"] == bindparam("new_email_address"), columns["id"] != bindparam("where_id"))
            .limit(1)
        )
        self._swap_email = self._swap("email_address_counter", "email_address")
        self._swap_password = self._swap(
            "password_hash_counter", "password_hash", "password_hash_algorithm_id", "password_salt"
        )
        self._swap_sessions = self._swap("sessions_counter")
        self._deleter = UserDeleter(
            runner, table, columns, is_user, generate_user_id, deletion=deletion, before_delete=before_delete
        )
        disabled_counter = columns["disabled_counter"]
        self._set_disabled = runner.prepare(
            update(table)
            .where(is_user)
            .values({columns["disabled"]: bindparam("new_disabled"), disabled_counter: disabled_counter + 1})
        )
        display_name = columns.get("display_name")
        self._set_display_name = None if display_name is None else runner.prepare(
            update(table).where(is_user).values({display_name: bindparam("new_display_name")})
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
        values = {f"new_{name}": getattr(user, name) for name in self._fields}
        if "created_at" in self._columns:
            values["new_created_at"] = naive_utc(self._clock())
        try:
            self._runner.execute(self._insert, values)
        except SQLIntegrityError as exc:
            # The id has 120 random bits: a duplicate can only be the email address.
            if exc.unique_violation:
                raise UserEmailAddressAlreadyUsedError(_ALREADY_USED) from None
            raise
        return user

    def get_user(self, user_id: str) -> User:
        return self._get_one(self._get_by_id, {"where_id": user_id}, user_id)

    def get_user_by_email_address(self, email_address: str) -> User:
        return self._get_one(
            self._get_by_email, {"where_email_address": email_address}, "no such email address"
        )

    def update_user_email_address(
        self, user_id: str, email_address: str, expected_email_address_counter: int
    ) -> None:
        values = {
            "where_id": user_id,
            "expected": expected_email_address_counter,
            "new_email_address": email_address,
        }

        def run(tx: Transaction) -> int:
            # Checked first, as MemoryUserStore does, so that a taken address wins over a stale
            # counter; between two concurrent writers the unique constraint decides.
            if tx.read_one(self._taken, values) is not None:
                raise UserEmailAddressAlreadyUsedError(_ALREADY_USED)
            return tx.execute(self._swap_email, values)

        try:
            changed = self._runner.transaction(run)
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
        values = {
            "where_id": user_id,
            "expected": expected_password_hash_counter,
            "new_password_hash": bytes(password_hash),
            "new_password_hash_algorithm_id": password_hash_algorithm_id,
            "new_password_salt": bytes(password_salt),
        }
        self._change_one(self._swap_password, values)

    def increment_user_sessions_counter(self, user_id: str, expected_sessions_counter: int) -> None:
        self._change_one(self._swap_sessions, {"where_id": user_id, "expected": expected_sessions_counter})

    def delete_user(self, user_id: str) -> None:
        """Delete the user's row (or anonymise it), after the ``before_delete`` hook; raise
        ``UserDeletionRefusedError`` when the database refuses (nothing is changed then)."""
        self._deleter.delete_user(user_id)

    @property
    def before_delete(self) -> BeforeDelete | None:
        """The hook run before a user's row is deleted (it may be set after construction)."""
        return self._deleter.before_delete

    @before_delete.setter
    def before_delete(self, hook: BeforeDelete | None) -> None:
        self._deleter.before_delete = hook

    def close(self) -> None:
        """Close the engine's idle connections (``engine.dispose()``); it reconnects when used."""
        self.engine.dispose()

    # Administration (what the application does; Faroe never calls these) ----------------------

    def set_user_disabled(self, user_id: str, disabled: bool) -> None:
        """Disable or enable a user, incrementing the disabled counter (F10.2)."""
        self._change_one(self._set_disabled, {"where_id": user_id, "new_disabled": disabled})

    def set_user_display_name(self, user_id: str, display_name: str) -> None:
        """Set the display name passed to the email sender (F10.4)."""
        if self._set_display_name is None:
            raise ValueError(f"table {self.table.name} has no display name column")
        self._change_one(self._set_display_name, {"where_id": user_id, "new_display_name": display_name})

    # Internals ---------------------------------------------------------------------------------

    def _swap(self, counter_name: str, *changed: str) -> Prepared:
        """``UPDATE``: set ``new_<field>`` for each changed field and count, only if the counter
        still equals ``expected``."""
        counter = self._columns[counter_name]
        values: dict[Column[Any], Any] = {self._columns[name]: bindparam(f"new_{name}") for name in changed}
        values[counter] = counter + 1
        condition = (self._is_user, counter == bindparam("expected"))
        return self._runner.prepare(update(self.table).where(*condition).values(values))

    def _get_one(self, prepared: Prepared, values: dict[str, Any], not_found_message: str) -> User:
        row = self._runner.read_one(prepared, values)
        if row is None:
            raise UserNotFoundError(not_found_message)
        return self.user_from_row(row)

    def user_from_row(self, row: tuple[Any, ...]) -> User:
        """A ``User`` from the selected columns (``_fields`` order)."""
        values = dict(zip(self._fields, row))
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

    def _change_one(self, prepared: Prepared, values: dict[str, Any]) -> None:
        """Run the statement; no row matched means the user is missing (or its counter moved)."""
        if self._runner.execute(prepared, values) == 0:
            raise UserNotFoundError(str(values["where_id"]))
