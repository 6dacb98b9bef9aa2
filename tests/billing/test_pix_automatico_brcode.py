"""The recurrence BR Code (Pix Automático, journey 2) against a published worked
example.

The example is the one the Banco Central's Pix Automático material uses for a
QR code that only authorises a recurrence (journey 2), as reproduced in PSPs'
public documentation (e.g. FitBank's "Journey 2" page,
dev.fitbank.com.br/docs/journey-2-1): no amount, no point-of-initiation field,
field 26 with the GUI alone and field 80 with the GUI and the recurrence's
location. Its CRC checks (F2DA).
"""

from __future__ import annotations

from billing.domain.pix import br_code_crc, parse_tlv
from billing.domain.pix_automatico import (
    Journey,
    parse_recurrence_br_code,
    recurrence_br_code,
)

PUBLISHED = (
    "00020126180014br.gov.bcb.pix5204000053039865802BR5913Fulano de Tal6008BRASILIA"
    "62070503***80740014br.gov.bcb.pix2552pix.example.com/rec/"
    "2353c790eefb11eaadc10242ac1200026304F2DA"
)
REC = "pix.example.com/rec/2353c790eefb11eaadc10242ac120002"


def test_the_published_journey_2_code_reads_back() -> None:
    assert br_code_crc(PUBLISHED[:-4]) == "F2DA"
    code = parse_recurrence_br_code(PUBLISHED)
    assert code.journey == Journey.AUTHORISE_ONLY
    assert (code.rec_url, code.cob_url, code.amount_minor) == (REC, None, None)


def test_our_journey_2_code_has_the_published_fields_in_the_published_order() -> None:
    ours = recurrence_br_code(rec_url=REC, merchant_name="Fulano de Tal", merchant_city="Brasilia")
    mine, theirs = parse_tlv(ours), parse_tlv(PUBLISHED)
    # The same fields, in the same order, with the same values; we write the
    # merchant's name upper-case (as our charge codes do), and so the CRC differs.
    assert list(mine) == list(theirs)
    for field, value in theirs.items():
        if field == "59":
            assert mine[field] == value.upper()
        elif field != "63":
            assert mine[field] == value, field
    # Written with the published name's case, ours is the published code, byte for byte.
    body = ours[: ours.index("5913")] + "5913Fulano de Tal" + ours[ours.index("6008") : -4]
    assert body + br_code_crc(body) == PUBLISHED
