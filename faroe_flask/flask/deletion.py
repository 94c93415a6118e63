"""A user deletion the database refused, as the application's views and the account pages see it.

``complete_user_deletion`` answers ``internal_error``, as the protocol says for any user-store
failure (actions-account.md §4, step 5), when the database refuses to delete the user: the
application's rows still refer to it and neither a ``before_user_delete`` hook nor an ``ON DELETE``
rule dealt with them. Nothing is deleted, the deletion record stays (the user may try again), and
the log names the constraint. In-process callers can tell this case from other internal errors::

    result = current_faroe.invoke("complete_user_deletion", {...})
    if user_deletion_refused(result):
        flash(USER_DELETION_REFUSED_MESSAGE)

The account pages show ``USER_DELETION_REFUSED_MESSAGE`` under the message key
``user_deletion_refused`` (``FAROE_PAGES_MESSAGES`` replaces it). Clients of the HTTP endpoint
see ``internal_error`` only, as from the reference server.
"""

from __future__ import annotations

from ..core.envelope import ActionResult
from ..core.flows.user_deletion import USER_DELETION_REFUSED

__all__ = ["USER_DELETION_REFUSED", "USER_DELETION_REFUSED_MESSAGE", "user_deletion_refused"]

#: What to tell the person whose deletion was refused.
USER_DELETION_REFUSED_MESSAGE = (
    "Your account could not be deleted, because some of your data here cannot be removed "
    "automatically. Nothing was deleted. Please contact us and we will help."
)


def user_deletion_refused(result: ActionResult) -> bool:
    """Whether ``result`` (of ``complete_user_deletion``, run in-process) is a refused deletion."""
    return not result.ok and result.error_code == "internal_error" and result.cause == USER_DELETION_REFUSED
