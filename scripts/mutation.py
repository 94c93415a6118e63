"""Mutation testing with mutmut, one module or one group of modules at a time.

    python scripts/mutation.py faroe_flask/core/sessions.py     # one module (all its mutants)
    python scripts/mutation.py core sql redis                   # whole groups (resumes a run)
    python scripts/mutation.py --survivors faroe_flask/sql/runner.py  # only what survived last time
    python scripts/mutation.py --report core sql redis          # the figures, without running
    python scripts/mutation.py --fresh-imports --survivors core # code that runs at import time
    python scripts/mutation.py --equivalents                    # the docs' table of equivalents

Needs the ``mutation`` extra (``pip install -e ".[mutation,test]"``) and, for the SQL and Redis
groups, the ``FAROE_TEST_*_URL`` variables of the test suite. Each group of
``[tool.faroe_flask.mutation.groups]`` in pyproject.toml runs in its own copy of the project under
``.mutation/<group>/`` (git-ignored): a ``pyproject.toml`` whose ``[tool.mutmut]`` mutates the
group's modules and selects its tests, and links to ``faroe_flask/`` and ``tests/``. mutmut then
works in ``.mutation/<group>/mutants/``, runs the group's tests once to learn which tests reach
which function, and runs each mutant against those tests only, on the group's backends
(``FAROE_TEST_BACKENDS``), cheapest backend first. See docs/mutation-testing.md.
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import re
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"

#: mutmut's exit codes per mutant (its ``status_by_exit_code``), folded into the report's columns.
_STATUS = {
    1: "killed", 3: "killed", 37: "killed",  # 37: caught by the type checker
    0: "survived",
    5: "no tests", 33: "no tests",
    34: "skipped", 2: "interrupted", None: "not checked",
    36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout",
}
_COLUMNS = ("killed", "survived", "timeout", "suspicious", "no tests", "not checked")


@dataclass(frozen=True)
class Group:
    name: str
    modules: tuple[str, ...]
    tests: tuple[str, ...]
    backends: str

    def owns(self, path: str) -> bool:
        return any(fnmatch.fnmatch(path, pattern) for pattern in self.modules)


def load_settings() -> tuple[dict[str, Any], dict[str, Group], dict[str, str], dict[str, str]]:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    tool = pyproject["tool"]
    mutation = tool["faroe_flask"]["mutation"]
    groups = {
        name: Group(name, tuple(spec["modules"]), tuple(spec["tests"]), str(spec.get("backends", "")))
        for name, spec in mutation["groups"].items()
    }
    return tool, groups, dict(mutation.get("equivalent", {})), dict(mutation.get("killed_by_hand", {}))


def module_files(target: str) -> list[str]:
    """The ``.py`` files a target names: a file, a dotted module or a package (relative to the root)."""
    path = Path(target)
    if not path.suffix and not (ROOT / path).exists():
        dotted = ROOT / Path(*target.split("."))
        path = dotted.with_suffix(".py") if dotted.with_suffix(".py").exists() else dotted
    path = (ROOT / path).resolve()
    if path.is_dir():
        return sorted(p.relative_to(ROOT).as_posix() for p in path.rglob("*.py") if "__pycache__" not in p.parts)
    if path.is_file():
        return [path.relative_to(ROOT).as_posix()]
    raise SystemExit(f"no such module or group: {target}")


def mutant_prefix(path: str) -> str:
    """mutmut's mutant names start with the module's dotted name (``__init__`` dropped)."""
    dotted = path[: -len(".py")].replace("/", ".")
    return dotted[: -len(".__init__")] if dotted.endswith(".__init__") else dotted


def _toml(value: Any) -> str:
    # JSON strings, numbers, booleans and arrays of them are valid TOML.
    return json.dumps(value, ensure_ascii=False)


#: Third-party modules a fresh-imports run preloads in mutmut's fork server (not the package).
_PRELOAD = (
    "pytest", "hypothesis", "flask", "werkzeug", "jinja2", "click", "sqlalchemy", "alembic",
    "argon2", "psycopg", "pymysql", "redis", "flask_mail", "waitress",
)


def prepare(group: Group, tool: dict[str, Any], *, fresh_imports: bool = False) -> Path:
    """Lay out ``.mutation/<group>/``: links to the package and tests, and its own pyproject."""
    where = WORK / group.name
    where.mkdir(parents=True, exist_ok=True)
    for name in ("faroe_flask", "tests", *tool["mutmut"].get("also_copy", ())):
        link = where / name
        if not link.is_symlink() and (ROOT / name).exists():
            link.symlink_to(ROOT / name, target_is_directory=(ROOT / name).is_dir())
    mutmut = dict(tool["mutmut"])
    mutmut["only_mutate"] = list(group.modules)
    mutmut["pytest_add_cli_args_test_selection"] = list(group.tests)
    if fresh_imports:
        # Each mutant's run imports the package and the tests anew, after the mutant is chosen:
        # code that runs at import time (decorators, tables built once) is mutated too.
        (where / "preload.txt").write_text("\n".join(_PRELOAD) + "\n", encoding="utf-8")
        mutmut["forkserver_warmup"] = "import"
        mutmut["preload_modules_file"] = str(where / "preload.txt")
    lines = ["# Written by scripts/mutation.py for the group " + group.name, "[tool.mutmut]"]
    lines += [f"{key} = {_toml(value)}" for key, value in mutmut.items()]
    lines += ["", "[tool.pytest.ini_options]"]
    lines += [f"{key} = {_toml(value)}" for key, value in tool["pytest"]["ini_options"].items()]
    text = "\n".join(lines) + "\n"
    config = where / "pyproject.toml"
    if not config.exists() or config.read_text(encoding="utf-8") != text:
        config.write_text(text, encoding="utf-8")
    return where


def results(group: Group, files: list[str]) -> dict[str, dict[str, int | None]]:
    """mutmut's recorded exit code of every mutant of ``files``, per file."""
    out: dict[str, dict[str, int | None]] = {}
    for path in files:
        meta = WORK / group.name / "mutants" / (path + ".meta")
        if meta.exists():
            out[path] = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        else:
            out[path] = {}
    return out


def report(
    by_file: dict[str, dict[str, int | None]], equivalent: dict[str, str], by_hand: dict[str, str]
) -> list[str]:
    """One line per module: counts per status, accepted equivalents and the score, then survivors.

    ``by_hand``: mutants mutmut cannot kill (code run at import time, whose calls mutmut credits to
    whichever test ran first; code run in a forked child) that the named test kills when the change
    is made by hand; counted as killed, in a column of their own."""
    header = (
        f"{'module':44} {'mutants':>7} " + " ".join(f"{c:>11}" for c in _COLUMNS)
        + f" {'by hand':>7} {'equivalent':>10} {'score':>7}"
    )
    lines = [header]
    survivors: list[str] = []
    for path, codes in sorted(by_file.items()):
        counts: Counter[str] = Counter()
        accepted = 0
        for name, code in codes.items():
            status = _STATUS.get(code, "suspicious")
            if status not in ("killed", "timeout") and name in by_hand:
                counts["by hand"] += 1
                continue
            if status not in ("killed", "timeout") and name in equivalent:
                accepted += 1
                continue
            counts[status] += 1
            if status in ("survived", "suspicious", "no tests", "not checked"):
                survivors.append(f"  {status:>10}  {name}")
        total = len(codes)
        counted = total - accepted
        # A timeout counts as killed: the tests did not pass (mutmut stopped them).
        detected = counts["killed"] + counts["timeout"] + counts["by hand"]
        score = f"{100 * detected / counted:6.1f}%" if counted else "     -"
        cells = " ".join(f"{counts[c]:>11}" for c in _COLUMNS)
        lines.append(f"{path:44} {total:>7} {cells} {counts['by hand']:>7} {accepted:>10} {score:>7}")
    if survivors:
        lines += ["", "not killed (mutmut show NAME, in the group's folder, prints the change):", *survivors]
    return lines


_MODULE_OF_MUTANT = re.compile(r"^faroe_flask\.(?P<module>.+?)\.x[_ǁ]")


def equivalents_table(equivalent: dict[str, str], reasons: dict[str, str]) -> list[str]:
    """The accepted equivalents as docs/mutation-testing.md shows them: one row per reason (its key
    in ``[tool.faroe_flask.mutation.equivalent]``, why it changes nothing, and how many mutants of
    each module it covers). Every key needs its sentence in ``[tool.faroe_flask.mutation.reasons]``."""
    missing = sorted(set(equivalent.values()) - set(reasons))
    if missing:
        raise SystemExit(f"reasons without a sentence in [tool.faroe_flask.mutation.reasons]: {missing}")
    per_reason: dict[str, Counter[str]] = {}
    for name, reason in equivalent.items():
        match = _MODULE_OF_MUTANT.match(name)
        module = match.group("module") if match else name
        per_reason.setdefault(reason, Counter())[module] += 1
    lines = ["| reason | why it changes nothing a test can observe | mutants |", "| --- | --- | --- |"]
    for reason, modules in sorted(per_reason.items()):
        where = ", ".join(f"`{module}` {count}" for module, count in sorted(modules.items()))
        lines.append(f"| `{reason}` | {reasons[reason]} | {where} |")
    return lines


def killed_by_hand_table(by_hand: dict[str, str]) -> list[str]:
    """The mutants killed by hand as docs/mutation-testing.md shows them: one row per killing test
    (and note), its mutants by function and number."""
    per_test: dict[str, dict[str, list[int]]] = {}
    for name, killer in by_hand.items():
        function, _, number = name.removeprefix("faroe_flask.").rpartition("__mutmut_")
        per_test.setdefault(killer, {}).setdefault(function, []).append(int(number))
    lines = ["| killed by | mutants |", "| --- | --- |"]
    for killer, functions in sorted(per_test.items()):
        test, _, note = killer.partition(" (")
        where = "; ".join(
            f"`{function}` {', '.join(str(n) for n in sorted(numbers))}" for function, numbers in sorted(functions.items())
        )
        lines.append(f"| `{test}`" + (f" ({note}" if note else "") + f" | {where} |")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("targets", nargs="*", help="group names, module paths or dotted module names")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--survivors", action="store_true", help="run again only what was not killed")
    parser.add_argument("--report", action="store_true", help="print the figures of the last runs only")
    parser.add_argument(
        "--fresh-imports", action="store_true",
        help="import the package anew for each mutant (slower; reaches code run at import time)",
    )
    parser.add_argument(
        "--equivalents", action="store_true",
        help="print docs/mutation-testing.md's tables of equivalents and of mutants killed by hand, and stop",
    )
    options = parser.parse_args()
    tool, groups, equivalent, by_hand = load_settings()
    if options.equivalents:
        reasons = dict(tool["faroe_flask"]["mutation"].get("reasons", {}))
        print("\n".join(equivalents_table(equivalent, reasons)))
        print("\n".join(["", *killed_by_hand_table(by_hand)]))
        return 0
    if not options.targets:
        parser.error("name at least one group or module")

    # Each target becomes (group, files, mutant name patterns); a whole group resumes its run.
    plan: dict[str, tuple[list[str], list[str]]] = {}
    for target in options.targets:
        if target in groups:
            group = groups[target]
            files = [f for f in module_files("faroe_flask") if group.owns(f)]
            patterns: list[str] = []
        else:
            files = module_files(target)
            owners = {name for f in files for name, g in groups.items() if g.owns(f)}
            if len(owners) != 1:
                raise SystemExit(f"{target} belongs to {sorted(owners) or 'no group'}: see pyproject.toml")
            group = groups[owners.pop()]
            files = [f for f in files if group.owns(f)]
            patterns = [mutant_prefix(f) + ".*" for f in files]
        known_files, known_patterns = plan.setdefault(group.name, ([], []))
        known_files.extend(f for f in files if f not in known_files)
        known_patterns.extend(patterns)

    failed = False
    for name, (files, patterns) in plan.items():
        group = groups[name]
        if options.survivors:
            patterns = [
                mutant for codes in results(group, files).values() for mutant, code in codes.items()
                if _STATUS.get(code, "suspicious") not in ("killed", "timeout")
                and mutant not in equivalent and mutant not in by_hand
            ]
            if not patterns:
                print(f"[{name}] nothing left to run")
        if not options.report and (patterns or not options.survivors):
            where = prepare(group, tool, fresh_imports=options.fresh_imports)
            env = dict(os.environ, FAROE_TEST_BACKENDS=group.backends)
            command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(options.max_children), *patterns]
            print(f"[{name}] {' '.join(command[2:4])} ... in {where.relative_to(ROOT)}", flush=True)
            done = subprocess.run(command, cwd=where, env=env)
            failed = failed or done.returncode != 0
        print(f"\n[{name}] tests: {' '.join(group.tests)}; backends: {group.backends or 'all'}")
        print("\n".join(report(results(group, files), equivalent, by_hand)), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
