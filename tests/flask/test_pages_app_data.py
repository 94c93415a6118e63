"""Account deletion through the account pages in an application whose own tables refer to the
users table (issue 20), end to end over real HTTP (waitress on loopback, a cookie jar and a
loopback address per browser, the CSRF token parsed from the form) on SQLite, PostgreSQL and
MariaDB.

The app is ``test_app_data_deletion``'s: ``posts`` (a plain foreign key to ``faroe_users.id``) and
``comments`` (``ON DELETE CASCADE``). Each documented choice goes through ``/account/delete``:
cascading rows alone, a refusal (the delete page says so, the account, its rows and the session
stay, no deletion is left in progress) then a retry once the app has dealt with its rows, a hook
that fails (nothing half-done), a hook that removes the posts, one that re-assigns them, and
``FAROE_USER_DELETION = "anonymise"``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import MetaData, func, select

from faroe_flask import create_pages_blueprint
from faroe_flask.flask.deletion import USER_DELETION_REFUSED_MESSAGE
from faroe_flask.flask.pages_messages import GENERAL_MESSAGE
from faroe_flask.sql import make_storage_table
from faroe_flask.sql.deletion import UserDeletionTransaction
from faroe_flask.testing import TEST_PASSWORD, SignedIn, sign_up

from ..servers import serve
from .pages_http import PAGES_CONFIG, Answer, HttpBrowser
from .test_app_data_deletion import DeletionApp, _faroe_errors, make_app  # noqa: F401

DELETION_RECORDS = "aaap."  # faroe_flask.core.records: the user deletion entries


class Site:
    """A ``DeletionApp`` with the pages, served over HTTP."""

    def __init__(self, deletion_app: DeletionApp, url: str) -> None:
        self.data, self.url = deletion_app, url
        self.storage = make_storage_table(MetaData(), "faroe_storage")

    def user(self, email: str) -> tuple[SignedIn, HttpBrowser]:
        """A user made in-process, then signed in through the pages by a browser of its own."""
        made = sign_up(email, app=self.data.app)
        browser = HttpBrowser(self.url)
        answer = browser.post("/account/signin", email_address=email, password=TEST_PASSWORD)
        assert answer.status == 302 and answer.set_cookies("faroe_session"), answer.body
        return made, browser

    def deletions_in_progress(self) -> int:
        with self.data.engine.connect() as connection:
            query = select(func.count()).select_from(self.storage).where(self.storage.c.key.like(DELETION_RECORDS + "%"))
            return int(connection.execute(query).scalar_one())

    def user_ids(self) -> list[str]:
        with self.data.engine.connect() as connection:
            return sorted(connection.execute(select(self.data.users.c.id)).scalars())

    def authors(self, table: sa.Table) -> dict[int, Any]:
        """Each row's id and author."""
        return {row[0]: row[1] for row in self.data.rows(table)}


@pytest.fixture
def make_site(make_app: Callable[..., DeletionApp]) -> Iterator[Callable[..., Site]]:
    with contextlib.ExitStack() as servers:

        def make(**options: Any) -> Site:
            deletion_app = make_app(**options)
            deletion_app.app.config.update(PAGES_CONFIG)
            deletion_app.app.register_blueprint(create_pages_blueprint())
            return Site(deletion_app, servers.enter_context(serve(deletion_app.app)))

        yield make


def delete(browser: HttpBrowser, password: str = TEST_PASSWORD) -> Answer:
    page = browser.get("/account/delete")
    assert page.status == 200, page.body
    return browser.post("/account/delete", csrf=page.csrf, current_password=password)


def assert_deleted(answer: Answer, browser: HttpBrowser) -> None:
    assert answer.status == 302 and answer.location == "/", answer.body
    assert any("faroe_session=;" in cookie or "Max-Age=0" in cookie for cookie in answer.set_cookies("faroe_session"))
    assert "Your account was deleted." in browser.get("/account/signin").body
    assert browser.get("/account/").location.startswith("/account/signin")


def test_each_deletion_choice_through_the_pages(
    make_site: Callable[..., Site], caplog: pytest.LogCaptureFixture
) -> None:
    site = make_site()
    data = site.data
    reader, _ = site.user("reader@example.com")
    data.post(100, reader)
    data.comment(100, reader)

    # Cascading rows alone: the comments go with the user.
    commenter, browser = site.user("commenter@example.com")
    data.comment(1, commenter)
    assert_deleted(delete(browser), browser)
    assert site.authors(data.comments) == {100: reader.user_id} and commenter.user_id not in site.user_ids()

    # A plain foreign key refuses: the page says so; nothing is deleted, the session stays.
    writer, browser = site.user("writer@example.com")
    data.post(1, writer)
    data.comment(2, writer)
    with caplog.at_level(logging.ERROR, logger="faroe_flask"):
        refused = delete(browser)
    assert refused.status == 409 and refused.error == USER_DELETION_REFUSED_MESSAGE
    assert 'data-error-code="user_deletion_refused"' in refused.body and "Reference: <code>" in refused.body
    assert not refused.set_cookies("faroe_session")
    (line,) = _faroe_errors(caplog)
    assert "refused to delete the user" in line and "posts" in line and "writer@example.com" not in line
    assert writer.user_id in site.user_ids() and site.authors(data.posts) == {1: writer.user_id, 100: reader.user_id}
    assert site.authors(data.comments) == {2: writer.user_id, 100: reader.user_id}
    assert site.deletions_in_progress() == 0  # the pages' deletion was ended, not left behind
    assert browser.get("/account/").status == 200  # still signed in, same Flask session
    # The app deals with its rows; the person tries again and the account goes.
    with data.engine.begin() as connection:
        connection.execute(sa.delete(data.posts).where(data.posts.c.author_id == writer.user_id))
    assert_deleted(delete(browser), browser)
    assert writer.user_id not in site.user_ids() and site.authors(data.comments) == {100: reader.user_id}

    # A hook that fails half-way: rolled back with the delete, an error on our side.
    @data.faroe.before_user_delete
    def half_done(deletion: UserDeletionTransaction) -> None:
        deletion.execute(sa.delete(data.posts).where(data.posts.c.author_id == deletion.user_id))
        raise RuntimeError("the application changed its mind")

    author, browser = site.user("author@example.com")
    data.post(2, author)
    failed = delete(browser)
    assert failed.status == 503 and failed.error == GENERAL_MESSAGE
    assert author.user_id in site.user_ids() and site.authors(data.posts)[2] == author.user_id
    assert browser.get("/account/").status == 200 and site.deletions_in_progress() == 0

    # A hook that removes the posts (the same author, who can try again).
    @data.faroe.before_user_delete
    def remove_posts(deletion: UserDeletionTransaction) -> None:
        deletion.execute(sa.delete(data.posts).where(data.posts.c.author_id == deletion.user_id))

    data.comment(3, author)
    assert_deleted(delete(browser), browser)
    assert site.authors(data.posts) == {100: reader.user_id} and site.authors(data.comments) == {100: reader.user_id}

    # A hook that re-assigns them: the posts stay, without an author.
    @data.faroe.before_user_delete
    def keep_posts(deletion: UserDeletionTransaction) -> None:
        deletion.execute(sa.update(data.posts).where(data.posts.c.author_id == deletion.user_id).values(author_id=None))

    editor, browser = site.user("editor@example.com")
    data.post(3, editor)
    assert_deleted(delete(browser), browser)
    assert site.authors(data.posts) == {3: None, 100: reader.user_id} and site.user_ids() == [reader.user_id]
    assert site.deletions_in_progress() == 0


def test_anonymise_through_the_pages(make_site: Callable[..., Site]) -> None:
    site = make_site(deletion="anonymise")
    data = site.data
    writer, browser = site.user("writer@example.com")
    data.post(1, writer)
    data.comment(1, writer)
    assert_deleted(delete(browser), browser)
    # The row stays for the post and the comment, holding nothing personal.
    assert site.authors(data.posts) == {1: writer.user_id} and site.authors(data.comments) == {1: writer.user_id}
    (row,) = data.rows(data.users)
    values = dict(zip(data.users.c.keys(), row))
    assert values["email_address"].startswith("deleted:") and values["disabled"]
    # The old address signs in no more, and is free for a new account.
    stranger = HttpBrowser(site.url)
    answer = stranger.post("/account/signin", email_address="writer@example.com", password=TEST_PASSWORD)
    assert answer.status == 422 and 'data-error-code="user_not_found"' in answer.body
    again, _ = site.user("writer@example.com")
    assert again.user_id != writer.user_id and site.deletions_in_progress() == 0
