"""Public identifiers drawn from a buffer of the OS CSPRNG's bytes: distinct across threads and
across a fork (a child never repeats its parent's ids)."""

from __future__ import annotations

import os
import threading

from faroe_flask.core import credentials


def test_ids_are_distinct_across_threads_and_buffer_refills() -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def draw() -> None:
        mine = [credentials.generate_id() for _ in range(700)]  # more than one buffer's 512
        with lock:
            ids.extend(mine)

    threads = [threading.Thread(target=draw) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(ids) == 2800 and len(set(ids)) == 2800
    assert all(len(i) == 24 and set(i) <= set(credentials.LOWERCASE_ALPHABET) for i in ids)


def test_a_forked_child_does_not_repeat_the_parents_ids() -> None:
    credentials.generate_id()  # the buffer is filled: a child would inherit it
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next ids, then leave at once
        try:
            os.write(write, " ".join(credentials.generate_id() for _ in range(3)).encode())
        finally:
            os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        child = pipe.read().split()
    os.waitpid(pid, 0)
    parent = [credentials.generate_id() for _ in range(3)]
    assert len(child) == 3 and not set(child) & set(parent)
