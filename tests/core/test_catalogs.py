"""The committed pt-BR and Romanian catalogs: every message translated, none fuzzy,
each translation keeping its message's placeholders and HTML tags, and the
compiled .mo in step with the .po (a string added without `make messages` and a
translation shows up here, not as English on a customer's page)."""

from __future__ import annotations

import ast
import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

LOCALE = Path(settings.BASE_DIR) / "locale"
TRANSLATED = ["pt_BR", "ro"]
# ro: one, few (2-19, and 0), many ("20 de ...").
PLURAL_FORMS = {"pt_BR": 2, "ro": 3}


@dataclass
class Entry:
    line: int
    msgctxt: str | None = None
    msgid: str = ""
    msgid_plural: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)

    @property
    def label(self) -> str:
        ctx = f"[{self.msgctxt}] " if self.msgctxt else ""
        return f"line {self.line}: {ctx}{self.msgid!r}"


def _unquote(text: str) -> str:
    # PO strings use C escapes (\" \\ \n \t), which Python's literals share.
    value = ast.literal_eval(text)
    assert isinstance(value, str)
    return value


def parse_po(path: Path) -> list[Entry]:
    """The live entries of a .po file (obsolete `#~` ones left out), header included."""
    entries: list[Entry] = []
    current: Entry | None = None
    flags: set[str] = set()
    target: tuple[str, int] | None = None
    keyword = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr)(?:\[(\d+)\])?\s+(\".*\")\s*$")
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags |= {f.strip() for f in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            assert current is not None, f"{path}:{number}: a string before any message"
            assert target is not None, f"{path}:{number}: a string before any keyword"
            _append(current, target, _unquote(line))
            continue
        match = keyword.match(line)
        assert match, f"{path}:{number}: cannot read {raw!r}"
        name, index, text = match.group(1), match.group(2), _unquote(match.group(3))
        if name in ("msgctxt", "msgid") and (current is None or current.msgstr):
            if current is not None:
                entries.append(current)
            current = Entry(line=number, flags=flags)
            flags = set()
        assert current is not None
        target = (name, int(index) if index is not None else -1)
        _append(current, target, text, start=True)
    if current is not None:
        entries.append(current)
    return entries


def _append(entry: Entry, target: tuple[str, int], text: str, *, start: bool = False) -> None:
    name, index = target
    if name == "msgstr":
        key = max(index, 0)
        entry.msgstr[key] = ("" if start else entry.msgstr[key]) + text
    elif name == "msgctxt":
        entry.msgctxt = ("" if start or entry.msgctxt is None else entry.msgctxt) + text
    elif name == "msgid_plural":
        entry.msgid_plural = (
            "" if start or entry.msgid_plural is None else entry.msgid_plural
        ) + text
    else:
        entry.msgid = ("" if start else entry.msgid) + text


def _messages(language: str) -> list[Entry]:
    return [e for e in parse_po(LOCALE / language / "LC_MESSAGES" / "django.po") if e.msgid]


# %(name)s, %s, %d, %.2f... (not %%) and {name} / {} placeholders.
PERCENT = re.compile(r"%(?:\((?P<name>[^)]*)\))?[#0 +-]*\d*(?:\.\d+)?(?P<conv>[a-zA-Z%])")
BRACE = re.compile(r"(?<!\{)\{(?P<name>[A-Za-z_0-9.\[\]]*)(?:![rsa])?(?::[^{}]*)?\}(?!\})")
TAG = re.compile(r"</?([A-Za-z][A-Za-z0-9]*)\b[^>]*>")


def placeholders(text: str, flags: set[str]) -> tuple[list[str], list[str]]:
    """(named placeholders sorted, positional placeholders in order)."""
    named: list[str] = []
    positional: list[str] = []
    if "python-format" in flags:
        for m in PERCENT.finditer(text):
            if m.group("conv") == "%":
                continue
            if m.group("name") is not None:
                named.append(f"%({m.group('name')}){m.group('conv')}")
            else:
                positional.append(f"%{m.group('conv')}")
    if "python-brace-format" in flags:
        for m in BRACE.finditer(text):
            (named if m.group("name") else positional).append(f"{{{m.group('name')}}}")
    return sorted(named), positional


def tags(text: str) -> list[str]:
    return sorted(m.group(0).split()[0].rstrip(">").lower() for m in TAG.finditer(text))


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_and_none_is_fuzzy(language: str) -> None:
    messages = _messages(language)
    assert len(messages) > 1000  # the whole catalog was read, not a fragment

    fuzzy = [e.label for e in messages if "fuzzy" in e.flags]
    untranslated = [
        e.label
        for e in messages
        if not e.msgstr
        or any(not s for s in e.msgstr.values())
        or (e.msgid_plural is not None and len(e.msgstr) != PLURAL_FORMS[language])
    ]

    assert (fuzzy, untranslated) == ([], []), (
        f"{language}: fuzzy (check, then drop the flag):\n"
        + "\n".join(fuzzy)
        + "\nuntranslated:\n"
        + "\n".join(untranslated)
    )


@pytest.mark.parametrize("language", TRANSLATED)
def test_translations_keep_their_placeholders_and_tags(language: str) -> None:
    wrong: list[str] = []
    for e in _messages(language):
        ids = [e.msgid] + ([e.msgid_plural] if e.msgid_plural is not None else [])
        id_named = sorted({p for i in ids for p in placeholders(i, e.flags)[0]})
        id_positional = placeholders(ids[-1], e.flags)[1]
        id_tags = tags(e.msgid)
        for index, text in sorted(e.msgstr.items()):
            named, positional = placeholders(text, e.flags)
            if e.msgid_plural is None:
                # A singular message: exactly its placeholders.
                ok = named == id_named and positional == id_positional
            else:
                # A plural form may leave the count out ("one cycle"), never add one,
                # and together the forms use them all.
                ok = set(named) <= set(id_named) and positional in ([], id_positional)
            if not ok:
                wrong.append(f"{e.label} msgstr[{index}] {text!r}: {named or positional}")
            if tags(text) != id_tags:
                wrong.append(f"{e.label} msgstr[{index}] {text!r}: HTML {tags(text)} ≠ {id_tags}")
        if e.msgid_plural is not None:
            used = {p for text in e.msgstr.values() for p in placeholders(text, e.flags)[0]}
            if used != set(id_named):
                wrong.append(f"{e.label}: the plural forms use {sorted(used)}, not {id_named}")

    assert not wrong, f"{language}: placeholders or HTML that differ:\n" + "\n".join(wrong)


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_compiled_catalog_matches_the_po(language: str) -> None:
    with (LOCALE / language / "LC_MESSAGES" / "django.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    catalog: dict[object, str] = compiled._catalog  # type: ignore[attr-defined]

    stale: list[str] = []
    for e in _messages(language):
        key = f"{e.msgctxt}\x04{e.msgid}" if e.msgctxt is not None else e.msgid
        if e.msgid_plural is None:
            if catalog.get(key) != e.msgstr[0]:
                stale.append(e.label)
        elif any(catalog.get((key, i)) != s for i, s in e.msgstr.items()):
            stale.append(e.label)

    assert not stale, f"{language}: django.mo is stale; run `make messages`:\n" + "\n".join(stale)


@pytest.mark.parametrize("language", TRANSLATED)
def test_msgfmt_finds_no_untranslated_or_fuzzy_message(language: str) -> None:
    msgfmt = shutil.which("msgfmt")
    if msgfmt is None:
        pytest.skip("msgfmt (gettext) is not installed; .ci/run installs it")
    po = LOCALE / language / "LC_MESSAGES" / "django.po"

    result = subprocess.run(
        [msgfmt, "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True,
        text=True,
        env={"LC_ALL": "C", "PATH": "/usr/bin:/bin"},
        check=False,
    )

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"\d+ translated messages\.\n", result.stderr), result.stderr


def test_the_parser_reads_what_msgfmt_reads(tmp_path: Path) -> None:
    """The parser above against a small catalog: continuation lines, a plural, a
    context, flags, an obsolete entry and an untranslated one."""
    text = (
        'msgid ""\nmsgstr ""\n"Language: ro\\n"\n\n'
        '#, python-format\nmsgid "Hi %(name)s, "\n"twice"\n'
        'msgstr "Salut %(name)s, "\n"de două ori"\n\n'
        'msgctxt "month"\nmsgid "May"\nmsgstr "Mai"\n\n'
        '#, fuzzy, python-format\nmsgid "%(n)s cycle"\nmsgid_plural "%(n)s cycles"\n'
        'msgstr[0] "%(n)s ciclu"\nmsgstr[1] "%(n)s cicluri"\nmsgstr[2] ""\n\n'
        'msgid "Say \\"hi\\""\nmsgstr ""\n\n'
        '#~ msgid "Gone"\n#~ msgstr "Dus"\n'
    )
    path = tmp_path / "django.po"
    path.write_text(text, encoding="utf-8")

    header, hello, may, cycles, quoted = parse_po(path)

    assert header.msgid == ""
    assert header.msgstr[0] == "Language: ro\n"
    assert (hello.msgid, hello.msgstr) == ("Hi %(name)s, twice", {0: "Salut %(name)s, de două ori"})
    assert "python-format" in hello.flags
    assert (may.msgctxt, may.msgid, may.msgstr) == ("month", "May", {0: "Mai"})
    assert cycles.flags == {"fuzzy", "python-format"}
    assert cycles.msgid_plural == "%(n)s cycles"
    assert cycles.msgstr[2] == ""
    assert (quoted.msgid, quoted.msgstr) == ('Say "hi"', {0: ""})
    assert placeholders("%(a)s of %(b)d, 100%% %s", {"python-format"}) == (
        ["%(a)s", "%(b)d"],
        ["%s"],
    )
    assert tags('Go <a href="x">here</a><br>') == ["</a", "<a", "<br"]
