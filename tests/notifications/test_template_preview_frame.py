"""The editor's email preview arrives whole inside the iframe's srcdoc on first load."""

from __future__ import annotations

import html
import re

from tests.conftest import TenantSetup
from tests.notifications.test_templates import URL, _signed_in


def test_the_preview_frame_holds_the_whole_email(acme: TenantSetup) -> None:
    page = _signed_in(acme).get(URL).content.decode()

    attribute = re.search(r'<iframe id="preview-html"[^>]*\ssrcdoc="([^"]*)"', page)
    assert attribute is not None
    document = html.unescape(attribute.group(1))
    # The email's own quotes no longer end the attribute: the frame gets the full document.
    assert document.lstrip().lower().startswith(("<!doctype", "<html"))
    assert document.rstrip().lower().endswith("</html>")
    assert "Your payment of R$ 99,90 failed" in document
