"""Run mypy as pyproject.toml configures it, and keep the ratchet list honest.

The ratchet is the ``[[tool.mypy.overrides]]`` entry with ``ignore_errors = true``: modules
not yet clean. This runs mypy once with that entry left out (same cache), then
- fails on any error in a module that is not on the list;
- fails on a listed module that has no error any more (take it off: the list only shrinks);
- prints how many listed modules still have errors.
A plain ``mypy`` (editors, by hand) reads pyproject.toml as is and stays quiet on the list.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ERROR = re.compile(r"^(?P<path>[^:\s]+\.py):\d+: error: ")


def module_of(path: str) -> str:
    parts = list(Path(path).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def main() -> int:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    mypy = config["tool"]["mypy"]
    ratchet: set[str] = set()
    kept = []
    for override in mypy.get("overrides", []):
        if override.get("ignore_errors"):
            ratchet |= set(override["module"])
        else:
            kept.append(override)
    if any("*" in name for name in ratchet):
        print("typecheck: the ratchet list names modules one by one, no wildcards.")
        return 2

    lines = ["[mypy]"] + [
        f"{key} = {_ini(value)}" for key, value in mypy.items() if key != "overrides"
    ]
    for override in kept:
        lines.append(f"[mypy-{','.join(override['module'])}]")
        lines += [f"{key} = {_ini(value)}" for key, value in override.items() if key != "module"]
    lines += ["[mypy.plugins.django-stubs]"] + [
        f"{key} = {_ini(value)}" for key, value in config["tool"]["django-stubs"].items()
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".ini", delete=False) as ini:
        ini.write("\n".join(lines) + "\n")
    try:
        run = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "mypy", "--config-file", ini.name],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        Path(ini.name).unlink()
    if run.returncode not in (0, 1):  # 2: mypy itself failed (config, crash)
        print(run.stdout + run.stderr)
        return run.returncode

    unclean: dict[str, list[str]] = {}
    for line in run.stdout.splitlines():
        if match := ERROR.match(line):
            unclean.setdefault(module_of(match["path"]), []).append(line)
    new = {m: errors for m, errors in unclean.items() if m not in ratchet}
    existing = {m for m in ratchet if (ROOT / Path(*m.split("."))).with_suffix(".py").exists()}
    cleaned = sorted(existing - set(unclean))
    for errors in new.values():
        print("\n".join(errors))
    for module in cleaned:
        print(f"{module}: no type error left; remove it from the ratchet list in pyproject.toml")
    errors_left = sum(len(unclean[m]) for m in ratchet if m in unclean)
    print(
        f"mypy: {sum(len(e) for e in new.values())} errors outside the ratchet list; "
        f"ratchet list: {len(existing & set(unclean))} modules still ignored "
        f"({errors_left} errors)"
    )
    return 1 if new or cleaned else 0


def _ini(value: object) -> str:
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


if __name__ == "__main__":
    sys.exit(main())
