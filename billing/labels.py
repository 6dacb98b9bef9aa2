"""How an invoice line reads, in the reader's language.

Lines store the plan's name, their kind and their period; the words around
them are translated when a document is shown, not frozen in English when it
is issued.
"""

from typing import Protocol

from django.utils.translation import gettext as _


class LineLike(Protocol):
    # Read-only, so frozen proposed lines (previews) are lines too.
    @property
    def kind(self) -> str: ...
    @property
    def description(self) -> str: ...
    @property
    def amount_minor(self) -> int: ...


def line_label(line: LineLike) -> str:
    name = line.description
    if line.kind == "setup_fee":
        return _("Setup fee – %(plan)s") % {"plan": name}
    if line.kind == "proration":
        if line.amount_minor < 0:
            return _("Unused time on %(plan)s") % {"plan": name}
        return _("Remaining time on %(plan)s") % {"plan": name}
    if line.kind == "credit_carried":
        return _("Credit carried to your balance")
    if line.kind == "late_fee":
        return _("Late fee on invoice %(number)s") % {"number": name}
    if line.kind == "late_interest":
        return _("Late interest on invoice %(number)s") % {"number": name}
    return name
