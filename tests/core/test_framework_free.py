"""The engine imports nothing from Flask, SQLAlchemy or Flask-Mail."""

from __future__ import annotations

import subprocess
import sys

SCRIPT = """
import sys
for name in ("flask", "flask_mail", "sqlalchemy", "alembic", "werkzeug", "jinja2"):
    sys.modules[name] = None  # any import of these now fails
from faroe_flask import MemoryStorage, MemoryUserStore, Server
from faroe_flask.core.strength import StaticPasswordList
from faroe_flask.passwords import Argon2id

class Sender:
    def __getattr__(self, name):
        return lambda *args: None

algorithm = Argon2id(memory_cost=64, time_cost=1, parallelism=1)
server = Server(storage=MemoryStorage(), user_store=MemoryUserStore(), email_sender=Sender(),
                user_password_hash_algorithms=[algorithm], temporary_password_hash_algorithm=algorithm,
                password_strength_checker=StaticPasswordList([]))
print(server.resolve_action_invocation_request('{"action":"create_signup","arguments":{"email_address":"a@b.c"}}'))
"""


def test_the_engine_runs_without_flask_sqlalchemy_or_flask_mail() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('{"ok":true,')
