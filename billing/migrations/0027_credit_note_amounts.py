"""Credit notes carry subtotal, discount and tax (and their lines too).

Existing credit notes credited a total only (one line each, its amount the total
credited). They are filled from the invoice they credit, in its proportions:
the discount, the tax added on top and the tax inside the price each scaled by
``total / invoice total`` and rounded half-even, the subtotal what makes
``subtotal - discount + tax on top == total`` exactly; a full credit gets the
invoice's own figures. The total never changes: it is what was credited.
Backwards, a line's amount is its total again (what the old columns meant).
"""

from decimal import ROUND_HALF_EVEN, Decimal

import django.db.models.deletion
from django.db import migrations, models


def _round(value: Decimal) -> int:
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    from tenants.context import platform_access

    CreditNote = apps.get_model("billing", "CreditNote")
    CreditNoteLine = apps.get_model("billing", "CreditNoteLine")
    InvoiceLine = apps.get_model("billing", "InvoiceLine")
    # Row-level security is forced even for the tables' owner: see every tenant.
    with platform_access():
        for note in CreditNote.objects.select_related("invoice").order_by("pk").iterator():
            invoice = note.invoice
            on_top = inside = 0
            percents = set()
            for line in InvoiceLine.objects.filter(invoice_id=invoice.pk).exclude(
                kind="credit_carried"
            ):
                if line.tax_inclusive:
                    inside += line.tax_minor
                else:
                    on_top += line.tax_minor
                if line.tax_percent:
                    percents.add(line.tax_percent)
            total = note.total_minor
            if invoice.total_minor > 0:
                ratio = Decimal(total) / invoice.total_minor
                discount = _round(invoice.discount_minor * ratio)
                tax_on_top, tax_inside = _round(on_top * ratio), _round(inside * ratio)
            else:
                discount = tax_on_top = tax_inside = 0
            note.subtotal_minor = total + discount - tax_on_top
            note.discount_minor = discount
            note.tax_minor = tax_on_top + tax_inside
            note.save(update_fields=["subtotal_minor", "discount_minor", "tax_minor"])
            lines = list(CreditNoteLine.objects.filter(credit_note_id=note.pk).order_by("pk"))
            for position, line in enumerate(lines):
                line.position = position
                line.total_minor = line.amount_minor
                if len(lines) == 1 and line.amount_minor == total:
                    line.discount_minor = note.discount_minor
                    line.tax_percent = percents.pop() if len(percents) == 1 else None
                    if tax_on_top:
                        # An old invoice mixing both kinds (rare): the line shows the
                        # tax on top, which keeps its total exact; the note shows both.
                        line.amount_minor = note.subtotal_minor
                        line.tax_minor = tax_on_top
                    else:
                        # All of the tax (if any) is inside the amount.
                        line.amount_minor = total + discount
                        line.tax_minor = tax_inside
                        line.tax_inclusive = bool(tax_inside)
                line.save()


def unfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    from django.db.models import F

    from tenants.context import platform_access

    CreditNoteLine = apps.get_model("billing", "CreditNoteLine")
    with platform_access():
        CreditNoteLine.objects.update(amount_minor=F("total_minor"))


class Migration(migrations.Migration):

    dependencies = [
        ('billing', '0026_coupon_redemption_live'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='creditnoteline',
            options={'ordering': ['position', 'id']},
        ),
        migrations.AddField(
            model_name='creditnote',
            name='discount_minor',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='creditnote',
            name='subtotal_minor',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='creditnote',
            name='tax_minor',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='creditnoteline',
            name='discount_minor',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='creditnoteline',
            name='invoice_line',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='billing.invoiceline'),
        ),
        migrations.AddField(
            model_name='creditnoteline',
            name='position',
            field=models.PositiveSmallIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='creditnoteline',
            name='tax_inclusive',
            field=models.BooleanField(default=False),
        ),
        migrations.AddField(
            model_name='creditnoteline',
            name='tax_minor',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='creditnoteline',
            name='tax_percent',
            field=models.DecimalField(blank=True, decimal_places=4, max_digits=7, null=True),
        ),
        migrations.AddField(
            model_name='creditnoteline',
            name='total_minor',
            field=models.BigIntegerField(default=0),
        ),
        migrations.AddField(
            model_name='taxrate',
            name='description',
            field=models.CharField(blank=True, max_length=300, verbose_name='description'),
        ),
        migrations.RunPython(fill, unfill),
    ]
