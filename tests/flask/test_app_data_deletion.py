"""Account deletion in an application whose own table refers to the users table (issue 20), end to
end on SQLite, PostgreSQL and MariaDB: through the HTTP endpoint and through the view glue.

The app has ``posts`` (a plain foreign key to ``faroe_users.id``) and ``comments`` (``ON DELETE
CASCADE``). Each documented choice is exercised: no hook (the database refuses while posts remain;
nothing is half-deleted; the log names the constraint), a ``before_user_delete`` hook (removes or
re-assigns the posts in the deleting transaction), ``FAROE_USER_DELETION = "anonymise"`` (the row
stays for the posts), and cascading rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask, request
from flask.testing import FlaskClient
from sqlalchemy import Engine, ForeignKey, Integer, MetaData, String, Table, func, select

from faroe_flask import current_faroe, get_session_token, login_required
from faroe_flask.flask.deletion import USER_DELETION_REFUSED_MESSAGE, user_deletion_refused
from faroe_flask.flask.extension import Faroe
from faroe_flask.sql import create_engine, make_storage_table, make_users_table
from faroe_flask.sql.deletion import UserDeletionTransaction
from faroe_flask.testing import FAST_PASSWORD_HASHING, TEST_PASSWORD, Outbox, SignedIn, set_client_session, sign_in, sign_up

EMAIL = "writer@example.com"
OTHER = "reader@example.com"


class DeletionApp:
    """The app, its engine and its tables."""

    def __init__(self, database_url: str, *, deletion: str = "delete") -> None:
        self.engine: Engine = create_engine(database_url)
        metadata = MetaData()
        make_storage_table(metadata, "faroe_storage")
        self.users = make_users_table(metadata, "faroe_users")
        self.posts = Table(
            "posts",
            metadata,
            sa.Column("id", Integer, primary_key=True, autoincrement=False),
            sa.Column("author_id", self.users.c.id.type, ForeignKey("faroe_users.id"), nullable=True),
            sa.Column("title", String(100), nullable=False),
        )
        self.comments = Table(
            "comments",
            metadata,
            sa.Column("id", Integer, primary_key=True, autoincrement=False),
            sa.Column("author_id", self.users.c.id.type, ForeignKey("faroe_users.id", ondelete="CASCADE"), nullable=False),
        )
        metadata.create_all(self.engine)
        self.app = Flask("deletion_app")
        self.app.config.update(
            TESTING=True,
            FAROE_DATABASE_URL=database_url,
            FAROE_PASSWORD_STRENGTH_CHECK="offline",
            FAROE_SESSION_COOKIE_SECURE=False,
            FAROE_USER_DELETION=deletion,
            **FAST_PASSWORD_HASHING,
        )
        self.faroe = Faroe(self.app, email_sender=Outbox(self.app))
        self._routes()

    def _routes(self) -> None:
        app = self.app

        @app.post("/delete-account")
        @login_required
        def delete_account() -> Any:
            """What an app's own deletion view does with the view glue."""
            session_token = get_session_token() or ""
            created = current_faroe.invoke("create_user_deletion", {"session_token": session_token})
            if not created.ok:
                return created.error_code, 400
            deletion_token = created.values["user_deletion_token"]
            arguments = {"session_token": session_token, "user_deletion_token": deletion_token}
            verified = current_faroe.invoke(
                "verify_user_deletion_user_password", {**arguments, "password": request.form["password"]}
            )
            if not verified.ok:
                return verified.error_code, 400
            completed = current_faroe.invoke("complete_user_deletion", arguments)
            if user_deletion_refused(completed):
                return USER_DELETION_REFUSED_MESSAGE, 409
            if not completed.ok:
                return completed.error_code, 500
            return "deleted"

    def post(self, post_id: int, author: SignedIn | None) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.posts.insert().values(id=post_id, author_id=author and author.user_id, title="t"))

    def comment(self, comment_id: int, author: SignedIn) -> None:
        with self.engine.begin() as connection:
            connection.execute(self.comments.insert().values(id=comment_id, author_id=author.user_id))

    def rows(self, table: Table) -> list[tuple[Any, ...]]:
        with self.engine.connect() as connection:
            return [tuple(row) for row in connection.execute(select(table).order_by(table.c.id))]

    def user_count(self) -> int:
        with self.engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(self.users)).scalar_one())

    def close(self) -> None:
        self.faroe.close(self.app)
        self.engine.dispose()


@pytest.fixture
def make_app(database_url: str) -> Iterator[Callable[..., DeletionApp]]:
    made: list[DeletionApp] = []

    def make(**options: Any) -> DeletionApp:
        made.append(DeletionApp(database_url, **options))
        return made[-1]

    yield make
    for deletion_app in made:
        deletion_app.close()


def _endpoint(client: FlaskClient, action: str, **arguments: str) -> dict[str, Any]:
    response = client.post("/faroe", data=json.dumps({"action": action, "arguments": arguments}))
    assert response.status_code == 200
    result: dict[str, Any] = json.loads(response.data)
    return result


def _delete_through_the_endpoint(client: FlaskClient, user: SignedIn) -> tuple[dict[str, Any], str]:
    """create, verify, complete: the complete result and the deletion token."""
    created = _endpoint(client, "create_user_deletion", session_token=user.session_token)
    token = created["values"]["user_deletion_token"]
    verified = _endpoint(
        client, "verify_user_deletion_user_password", session_token=user.session_token,
        user_deletion_token=token, password=TEST_PASSWORD,
    )
    assert verified["ok"], verified
    completed = _endpoint(client, "complete_user_deletion", session_token=user.session_token, user_deletion_token=token)
    return completed, token


def _faroe_errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [record.getMessage() for record in caplog.records if record.name == "faroe_flask" and record.levelno >= logging.ERROR]


def test_a_plain_foreign_key_refuses_then_the_retry_succeeds_through_the_endpoint(
    make_app: Callable[..., DeletionApp], caplog: pytest.LogCaptureFixture
) -> None:
    deletion_app = make_app()
    app, client = deletion_app.app, deletion_app.app.test_client()
    writer = sign_up(EMAIL, app=app)
    deletion_app.post(1, writer)
    deletion_app.comment(1, writer)
    with caplog.at_level(logging.ERROR, logger="faroe_flask"):
        completed, token = _delete_through_the_endpoint(client, writer)
    assert completed == {"ok": False, "action_invocation_id": completed["action_invocation_id"], "error_code": "internal_error"}
    (line,) = _faroe_errors(caplog)
    assert "refused to delete the user" in line and "posts" in line and "\n" not in line
    assert EMAIL not in line and writer.user_id not in line and token not in line
    # Nothing is half-deleted: the user (who can still sign in), the post and the cascading comment.
    assert deletion_app.user_count() == 1 and len(deletion_app.rows(deletion_app.posts)) == 1
    assert len(deletion_app.rows(deletion_app.comments)) == 1
    sign_in(EMAIL, app=app)
    # The deletion record is kept: once the post is gone, the same deletion completes.
    assert _endpoint(client, "get_user_deletion", session_token=writer.session_token, user_deletion_token=token)["ok"]
    with deletion_app.engine.begin() as connection:
        connection.execute(sa.delete(deletion_app.posts))
    assert _endpoint(client, "complete_user_deletion", session_token=writer.session_token, user_deletion_token=token)["ok"]
    assert deletion_app.user_count() == 0 and deletion_app.rows(deletion_app.comments) == []


def test_a_refusal_through_the_view_glue_shows_the_message(make_app: Callable[..., DeletionApp]) -> None:
    deletion_app = make_app()
    client = deletion_app.app.test_client()
    writer = sign_up(EMAIL, app=deletion_app.app)
    set_client_session(client, writer)
    deletion_app.post(1, writer)
    response = client.post("/delete-account", data={"password": TEST_PASSWORD})
    assert response.status_code == 409 and response.text == USER_DELETION_REFUSED_MESSAGE
    assert deletion_app.user_count() == 1 and len(deletion_app.rows(deletion_app.posts)) == 1
    assert client.post("/delete-account", data={"password": TEST_PASSWORD}).status_code == 409


def test_a_hook_removes_the_posts_through_the_endpoint(make_app: Callable[..., DeletionApp]) -> None:
    deletion_app = make_app()
    posts = deletion_app.posts

    @deletion_app.faroe.before_user_delete
    def remove_posts(deletion: UserDeletionTransaction) -> None:
        deletion.execute(sa.delete(posts).where(posts.c.author_id == deletion.user_id))

    app = deletion_app.app
    writer, reader = sign_up(EMAIL, app=app), sign_up(OTHER, app=app)
    deletion_app.post(1, writer)
    deletion_app.post(2, reader)
    deletion_app.comment(1, writer)
    completed, _ = _delete_through_the_endpoint(app.test_client(), writer)
    assert completed["ok"] is True
    assert [row[0] for row in deletion_app.rows(posts)] == [2]
    assert deletion_app.rows(deletion_app.comments) == [] and deletion_app.user_count() == 1
    client = app.test_client()
    assert _endpoint(client, "get_session", session_token=writer.session_token)["error_code"] == "invalid_session_token"


def test_a_hook_reassigns_the_posts_through_the_view_glue(make_app: Callable[..., DeletionApp]) -> None:
    deletion_app = make_app()
    posts = deletion_app.posts

    @deletion_app.faroe.before_user_delete
    def keep_posts_anonymously(deletion: UserDeletionTransaction) -> None:
        deletion.execute(sa.update(posts).where(posts.c.author_id == deletion.user_id).values(author_id=None))

    client = deletion_app.app.test_client()
    writer = sign_up(EMAIL, app=deletion_app.app)
    set_client_session(client, writer)
    deletion_app.post(1, writer)
    deletion_app.comment(1, writer)
    assert client.post("/delete-account", data={"password": TEST_PASSWORD}).text == "deleted"
    assert deletion_app.rows(posts) == [(1, None, "t")] and deletion_app.user_count() == 0
    assert deletion_app.rows(deletion_app.comments) == []


def test_a_failing_hook_leaves_everything_as_it_was(make_app: Callable[..., DeletionApp]) -> None:
    deletion_app = make_app()
    posts = deletion_app.posts

    @deletion_app.faroe.before_user_delete
    def half_done(deletion: UserDeletionTransaction) -> None:
        deletion.execute(sa.delete(posts).where(posts.c.author_id == deletion.user_id))
        raise RuntimeError("the application changed its mind")

    client = deletion_app.app.test_client()
    writer = sign_up(EMAIL, app=deletion_app.app)
    set_client_session(client, writer)
    deletion_app.post(1, writer)
    response = client.post("/delete-account", data={"password": TEST_PASSWORD})
    assert response.status_code == 500 and response.text == "internal_error"
    assert len(deletion_app.rows(posts)) == 1 and deletion_app.user_count() == 1


def test_anonymise_keeps_the_row_for_the_posts(make_app: Callable[..., DeletionApp]) -> None:
    deletion_app = make_app(deletion="anonymise")
    app = deletion_app.app
    client = app.test_client()
    writer = sign_up(EMAIL, app=app)
    set_client_session(client, writer)
    deletion_app.post(1, writer)
    deletion_app.comment(1, writer)
    assert client.post("/delete-account", data={"password": TEST_PASSWORD}).text == "deleted"
    # The post and the comment still point at the kept row, which holds nothing personal.
    assert deletion_app.rows(deletion_app.posts)[0][1] == writer.user_id
    assert deletion_app.rows(deletion_app.comments)[0][1] == writer.user_id
    (row,) = deletion_app.rows(deletion_app.users)
    values = dict(zip(deletion_app.users.c.keys(), row))
    assert values["id"] == writer.user_id and values["email_address"].startswith("deleted:")
    assert values["password_hash"] == b"" and values["disabled"]
    # No sign-in is possible, the sessions are gone, and the address is free again.
    endpoint = app.test_client()
    assert _endpoint(endpoint, "create_signin", user_email_address=EMAIL)["error_code"] == "user_not_found"
    assert _endpoint(endpoint, "get_session", session_token=writer.session_token)["error_code"] == "invalid_session_token"
    again = sign_up(EMAIL, app=app)
    assert again.user_id != writer.user_id and deletion_app.user_count() == 2


def test_cascading_rows_go_with_the_user_through_the_endpoint(make_app: Callable[..., DeletionApp]) -> None:
    deletion_app = make_app()
    app = deletion_app.app
    writer, reader = sign_up(EMAIL, app=app), sign_up(OTHER, app=app)
    deletion_app.comment(1, writer)
    deletion_app.comment(2, reader)
    deletion_app.post(1, None)
    completed, _ = _delete_through_the_endpoint(app.test_client(), writer)
    assert completed["ok"] is True
    assert [row[1] for row in deletion_app.rows(deletion_app.comments)] == [reader.user_id]
    assert deletion_app.user_count() == 1
