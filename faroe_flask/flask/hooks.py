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
        # (the account pages' sign-up, the view glue's complete_signup, the testing helpers)
        ...

    @faroe.before_user_delete
    def remove_posts(deletion: UserDeletionTransaction) -> None:
        # same connection and transaction as the user row's DELETE (SQL user store)
        deletion.execute(delete(posts).where(posts.c.author_id == deletion.user_id))

The view glue that uses the first three is ``faroe_flask.flask.identity``, and the account pages
use the same: with a resolver, their sign-in and reset ask for "email address or username"
(``identifier_label``); their sign-up form carries ``signup_fields``. The deletion hook is
``faroe_flask.sql.deletion``'s, given to the SQL user store the extension builds.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from ..sql.deletion import UserDeletionTransaction

__all__ = [
    "BeforeUserDelete",
    "FaroeHooks",
    "IdentifierResolver",
    "MAX_SIGNUP_FIELD_CHARACTERS",
    "RESERVED_FIELD_NAMES",
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

#: The most characters the sign-up fields may hold in all (their ``max_length`` summed): the
#: account pages keep them on the server between the sign-up's steps, in a bounded record.
MAX_SIGNUP_FIELD_CHARACTERS = 2000
#: Names of the inputs of the pages' entry forms: a sign-up field cannot take them.
RESERVED_FIELD_NAMES = frozenset({"csrf_token", "next", "email_address", "password", "code", "temporary_password"})


@dataclasses.dataclass(frozen=True)
class SignupField:
    """One of the application's own sign-up fields (a username, a display name, ...).

    ``name`` is the form field's name and the key in the fields handed to the receiver; ``label``
    its visible label. A value is stripped of surrounding white space; an empty one is refused when
    ``required`` (else handed over as ``""``), one longer than ``max_length`` characters always.
    ``validate(value)`` returns an error sentence or ``None``; it runs on a non-empty value when
    the fields are read and again just before the user is created (so a username taken meanwhile
    is reported before anything is created). ``autocomplete``, ``input_type``, ``hint`` and
    ``attributes`` (more HTML attributes, ``{"spellcheck": "false"}``) are for the form
    (``autocomplete="username"``); the account pages render them.
    """

    name: str
    label: str
    required: bool = True
    max_length: int = 255
    validate: FieldValidator | None = dataclasses.field(default=None, compare=False)
    autocomplete: str | None = None
    input_type: str = "text"
    hint: str | None = None
    attributes: Mapping[str, str] = dataclasses.field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(f"a sign-up field's name must be an identifier, not {self.name!r}")
        if not self.label:
            raise ValueError(f"the sign-up field {self.name} needs a label")
        if self.max_length < 1:
            raise ValueError("max_length must be at least 1")

    def input_attributes(self) -> dict[str, str]:
        """The HTML attributes of its ``<input>`` beyond name, type, label and autocomplete."""
        return {"maxlength": str(self.max_length), **self.attributes}


def _checked(fields: Sequence[SignupField]) -> tuple[SignupField, ...]:
    """``fields`` as a tuple, or ``ValueError`` when a form could not carry them."""
    checked = tuple(fields)
    if not all(isinstance(field, SignupField) for field in checked):
        raise ValueError("signup_fields holds SignupField objects only")
    names = [field.name for field in checked]
    if len(set(names)) != len(names):
        raise ValueError("two sign-up fields have the same name")
    reserved = RESERVED_FIELD_NAMES.intersection(names)
    if reserved:
        raise ValueError(f"the pages' forms use the name {min(reserved)!r} already")
    if sum(field.max_length for field in checked) > MAX_SIGNUP_FIELD_CHARACTERS:
        raise ValueError(f"the sign-up fields may hold {MAX_SIGNUP_FIELD_CHARACTERS} characters in all")
    return checked


class FaroeHooks:
    """The hooks part of ``Faroe`` (see the module text)."""

    #: The account pages' label of the sign-in and reset identifier when a resolver is set.
    identifier_label: str = "Email address or username"
    #: Whether the extension was given its own ``user_store``/``server`` (checked by
    #: ``before_user_delete``, which applies to the store the extension builds only).
    _brings_own_user_store: bool = False

    def _init_hooks(self) -> None:
        self._signup_fields: tuple[SignupField, ...] = ()
        self._identifier_resolver: IdentifierResolver | None = None
        self._signup_fields_receiver: SignupFieldsReceiver | None = None
        self._before_user_delete: BeforeUserDelete | None = None

    @property
    def signup_fields(self) -> Sequence[SignupField]:
        """The application's own sign-up fields (``SignupField``), in form order. Assign a list;
        two fields with one name, a name of the pages' own inputs (``RESERVED_FIELD_NAMES``) or
        more than ``MAX_SIGNUP_FIELD_CHARACTERS`` in all raise ``ValueError``."""
        return self._signup_fields

    @signup_fields.setter
    def signup_fields(self, fields: Sequence[SignupField]) -> None:
        self._signup_fields = _checked(fields)

    @property
    def resolves_identifiers(self) -> bool:
        """Whether an ``identifier_resolver`` is registered."""
        return self._identifier_resolver is not None

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
