"""The fields of the pages' entry forms (sign in, sign up, password reset), as data an app extends.

Each entry page renders its ``PageForms`` fields in order (``_forms.html``'s ``fields`` macro)
and reads them back with ``read_form``. The first field of each page is the identifier,
``email_address``, which the Faroe action checks itself; every other field is the application's,
checked here (required, at most ``max_length`` characters) and, on the sign-up form, carried
through the sign-up steps with the flow (``signup_fields()`` during the completing request)::

    from faroe_flask.flask.pages_forms import Field, PageForms

    forms = PageForms().add("signup", Field("username", "Username", autocomplete="username", max_length=40))
    app.register_blueprint(create_pages_blueprint(forms=forms))

``replace`` swaps a field of the same name (a label, a type, an ``autocomplete``), for example an
identifier that also takes a username, once the application can resolve one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Literal

from flask import g, request

__all__ = [
    "IDENTIFIER",
    "MAX_EXTRA_CHARACTERS",
    "PAGES",
    "Field",
    "FormValues",
    "PageForms",
    "SIGNUP_FIELDS_KEY",
    "hand_over_signup_fields",
    "read_form",
    "signup_fields",
]

Page = Literal["signin", "signup", "reset"]
PAGES: tuple[Page, ...] = ("signin", "signup", "reset")

#: The field every entry form starts with; the Faroe action checks its value.
IDENTIFIER = "email_address"
#: Where the sign-up flow keeps the application's sign-up fields between its steps.
SIGNUP_FIELDS_KEY = "signup_fields"
_G_SIGNUP_FIELDS = "_faroe_pages_signup_fields"
#: The most characters the application's fields of one form may hold in all (their ``max_length`` summed).
MAX_EXTRA_CHARACTERS = 2000
#: Names the pages' own inputs use: an application field cannot take them.
_RESERVED = frozenset({"csrf_token", "next", "password", "code", "temporary_password"})


@dataclasses.dataclass(frozen=True)
class Field:
    """One labelled input. ``attributes`` are extra HTML attributes (``{"inputmode": "numeric"}``)."""

    name: str
    label: str
    type: str = "text"
    autocomplete: str | None = None
    hint: str | None = None
    max_length: int = 100
    required: bool = True
    strip: bool = True
    attributes: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or not self.label:
            raise ValueError("a field needs a name (a Python identifier) and a label")
        if not 1 <= self.max_length <= 1000:
            raise ValueError("max_length must be between 1 and 1000")

    def input_attributes(self) -> dict[str, str]:
        return {"maxlength": str(self.max_length), **self.attributes}


_EMAIL_ATTRIBUTES = {"spellcheck": "false"}
EMAIL_ADDRESS = Field(IDENTIFIER, "Email address", type="email", autocomplete="email", attributes=_EMAIL_ATTRIBUTES)
SIGNIN_EMAIL_ADDRESS = dataclasses.replace(EMAIL_ADDRESS, autocomplete="username")


@dataclasses.dataclass(frozen=True)
class PageForms:
    """The fields of the three entry forms. Immutable: ``add`` and ``replace`` return a copy."""

    signin: tuple[Field, ...] = (SIGNIN_EMAIL_ADDRESS,)
    signup: tuple[Field, ...] = (EMAIL_ADDRESS,)
    reset: tuple[Field, ...] = (EMAIL_ADDRESS,)

    def __post_init__(self) -> None:
        for page in PAGES:
            fields = self.fields(page)
            names = [field.name for field in fields]
            if not fields or names[0] != IDENTIFIER:
                raise ValueError(f"the {page} form must start with the {IDENTIFIER} field")
            if len(set(names)) != len(names) or _RESERVED.intersection(names):
                raise ValueError(f"the {page} form repeats a field name or uses a reserved one")
            if sum(field.max_length for field in fields[1:]) > MAX_EXTRA_CHARACTERS:
                raise ValueError(f"the {page} form's fields may hold {MAX_EXTRA_CHARACTERS} characters in all")

    def fields(self, page: Page) -> tuple[Field, ...]:
        fields: tuple[Field, ...] = getattr(self, page)
        return fields

    def add(self, page: Page, *fields: Field) -> PageForms:
        """A copy with ``fields`` after the page's current ones."""
        return dataclasses.replace(self, **{page: (*self.fields(page), *fields)})

    def replace(self, page: Page, field: Field) -> PageForms:
        """A copy with the page's field named ``field.name`` replaced by ``field``."""
        current = self.fields(page)
        if all(item.name != field.name for item in current):
            raise ValueError(f"the {page} form has no field {field.name!r}")
        return dataclasses.replace(
            self, **{page: tuple(field if item.name == field.name else item for item in current)}
        )


@dataclasses.dataclass(frozen=True)
class FormValues:
    """What was typed into an entry form, and the application fields that are wrong."""

    values: dict[str, str]
    missing: tuple[str, ...] = ()
    too_long: tuple[str, ...] = ()

    @property
    def identifier(self) -> str:
        return self.values[IDENTIFIER]

    @property
    def extra(self) -> dict[str, str]:
        """The application's fields (all but the identifier)."""
        return {name: value for name, value in self.values.items() if name != IDENTIFIER}

    @property
    def invalid(self) -> tuple[str, ...]:
        return self.missing + self.too_long


def read_form(fields: tuple[Field, ...]) -> FormValues:
    """Read ``fields`` from the request's form; check the application's fields."""
    values: dict[str, str] = {}
    missing: list[str] = []
    too_long: list[str] = []
    for field in fields:
        value = request.form.get(field.name, "")
        value = value.strip() if field.strip else value
        if field.name != IDENTIFIER:
            if field.required and not value:
                missing.append(field.name)
            elif len(value) > field.max_length:
                too_long.append(field.name)
                value = value[: field.max_length]
        values[field.name] = value
    return FormValues(values, tuple(missing), tuple(too_long))


def hand_over_signup_fields(fields: Mapping[str, str]) -> None:
    """Make ``fields`` what ``signup_fields()`` returns for the rest of this request."""
    setattr(g, _G_SIGNUP_FIELDS, dict(fields))


def signup_fields() -> dict[str, str]:
    """In the request in which the pages complete a sign-up (for example in a
    ``signup_completed`` receiver): the application's sign-up fields as typed on the first
    step. ``{}`` in any other request."""
    return dict(g.get(_G_SIGNUP_FIELDS) or {})
