"""The application's hooks on the ``Faroe`` extension: who an identifier is, the application's own
sign-up fields, and its rows when a user is deleted.

``Faroe`` inherits these methods and attributes (they are looked up when used, so they may be set
before or after ``init_app``, for every app the extension serves)::

    faroe = Faroe(app)

    @faroe.identifier_resolver
    def email_address_of(identifier: str) -> str | None:
        # "email address or username" -> the account's email address (None: no such account)
        ...

    faroe.signup_fields = [SignupField("username", "Username", validate=check_username)]

    @faroe.signup_fields_receiver
    def save_username(user_id: str, fields: Mapping[str, str]) -> None:
        # the new user's Faroe id and the checked fields, in the request that created the user
        ...

    @faroe.before_user_delete
    def remove_posts(deletion: UserDeletionTransaction) -> None:
        # same connection and transaction as the user row's DELETE (SQL user store)
        deletion.execute(delete(posts).where(posts.c.author_id == deletion.user_id))

The view glue that uses the first three is ``faroe_flask.flask.identity``; the deletion hook is
``faroe_flask.sql.deletion``'s, given to the SQL user store the extension builds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..sql.deletion import UserDeletionTransaction

__all__ = [
    "BeforeUserDelete",
    "FaroeHooks",
    "IdentifierResolver",
    "SignupField",
    "SignupFieldsReceiver",
]

#: ``identifier -> email address``, or ``None`` when no account has that identifier.
IdentifierResolver = Callable[[str], "str | None"]
#: ``(user_id, fields)``: the new user's Faroe id and its checked sign-up fields.
SignupFieldsReceiver = Callable[[str, Mapping[str, str]], None]
#: Runs the application's statements before a user's row is deleted (SQL user store).
BeforeUserDelete = Callable[["UserDeletionTransaction"], None]
#: ``value -> error sentence``, or ``None`` when the value is acceptable.
FieldValidator = Callable[[str], "str | None"]

H = TypeVar("H", bound=Callable[..., Any])


@dataclasses.dataclass(frozen=True)
class SignupField:
    """One of the application's own sign-up fields (a username, a display name, ...).

    ``name`` is the form field's name and the key in the fields handed to the receiver; ``label``
    its visible label. A value is stripped of surrounding white space; an empty one is refused when
    ``required`` (else handed over as ``""``), one longer than ``max_length`` characters always.
    ``validate(value)`` returns an error sentence or ``None``; it runs on a non-empty value when
    the fields are read and again just before the user is created (so a username taken meanwhile
    is reported before anything is created). ``autocomplete``, ``input_type`` and ``hint`` are for
    the form (``autocomplete="username"``).
    """

    name: str
    label: str
    required: bool = True
    max_length: int = 255
    validate: FieldValidator | None = dataclasses.field(default=None, compare=False)
    autocomplete: str | None = None
    input_type: str = "text"
    hint: str | None = None

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"a sign-up field's name must be an identifier, not {self.name!r}")
        if self.max_length < 1:
            raise ValueError("max_length must be at least 1")


class FaroeHooks:
    """The hooks part of ``Faroe`` (see the module text)."""

    #: The application's own sign-up fields, in form order (``SignupField``).
    signup_fields: list[SignupField]
    #: Whether the extension was given its own ``user_store``/``server`` (checked by
    #: ``before_user_delete``, which applies to the store the extension builds only).
    _brings_own_user_store: bool = False

    def _init_hooks(self) -> None:
        self.signup_fields = []
        self._identifier_resolver: IdentifierResolver | None = None
        self._signup_fields_receiver: SignupFieldsReceiver | None = None
        self._before_user_delete: BeforeUserDelete | None = None

    def identifier_resolver(self, function: H) -> H:
        """Decorator: ``function(identifier) -> email address | None`` turns what a person types
        at sign-in and password reset ("email address or username") into the account's email
        address; ``None`` means no account (answered like an unknown address)."""
        self._identifier_resolver = function
        return function

    def signup_fields_receiver(self, function: H) -> H:
        """Decorator: ``function(user_id, fields)`` receives the application's sign-up fields
        (``signup_fields``, checked) in the request in which the user was created. If it raises,
        the new user and its session are deleted again and the sign-up answers an error."""
        self._signup_fields_receiver = function
        return function

    def before_user_delete(self, function: H) -> H:
        """Decorator: ``function(deletion)`` runs the application's statements in the transaction
        that deletes a user, before the user's row goes (``faroe_flask.sql.deletion``). For the
        SQL user store the extension builds from ``FAROE_DATABASE_URL``; with your own
        ``user_store=``, pass ``before_delete=`` to its ``SQLUserStore`` instead."""
        if self._brings_own_user_store:
            raise RuntimeError(
                "this Faroe was given its own user_store (or server): pass the hook to that store "
                "(SQLUserStore(..., before_delete=...)) instead"
            )
        self._before_user_delete = function
        return function

    def _run_before_user_delete(self, deletion: UserDeletionTransaction) -> None:
        """The ``before_delete`` of the SQL user store the extension builds: the hook registered
        when the deletion runs, if any."""
        hook = self._before_user_delete
        if hook is not None:
            hook(deletion)
