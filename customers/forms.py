"""The billing address as a form: one set of fields for every screen that edits
it (the dashboard's customer form, the portal profile, the checkout). It checks
shapes only; ``customers.domain.address.normalize_address`` checks the rules
(CEP, UF, required parts) when a service saves it, and ``add_address_error``
puts its refusal next to the field it names."""

from __future__ import annotations

from collections.abc import Mapping

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import DomainError
from customers.domain.address import FIELDS, format_postal_code

PREFIX = "address_"


class AddressForm(forms.Form):
    """Fields ``address_line1`` … ``address_country``; mixed into bigger forms
    by inheritance (their ``field_order`` places the block)."""

    address_postal_code = forms.CharField(
        label=_("Postal code (CEP)"), required=False, max_length=16
    )
    address_line1 = forms.CharField(label=_("Street"), required=False, max_length=200)
    address_number = forms.CharField(label=_("Number"), required=False, max_length=20)
    address_complement = forms.CharField(label=_("Complement"), required=False, max_length=100)
    address_district = forms.CharField(label=_("District"), required=False, max_length=100)
    address_city = forms.CharField(label=_("City"), required=False, max_length=100)
    address_state = forms.CharField(label=_("State (UF)"), required=False, max_length=60)
    address_country = forms.CharField(
        label=_("Country"),
        required=False,
        max_length=2,
        help_text=_("Two-letter code; BR when empty."),
    )

    def address(self) -> dict[str, str]:
        """The address as the customer services take it ({} when all blank)."""
        values = {key: str(self.cleaned_data.get(PREFIX + key, "") or "") for key in FIELDS}
        return {key: value for key, value in values.items() if value}

    def address_fields(self) -> list[forms.BoundField]:
        return [self[PREFIX + key] for key in ADDRESS_ORDER]

    def add_address_error(self, exc: DomainError) -> bool:
        """Put an address refusal (param ``address`` or ``address.<key>``) on
        its field; False when the error is not about the address."""
        param = exc.param or ""
        if param != "address" and not param.startswith("address."):
            return False
        field = PREFIX + param.removeprefix("address.")
        self.add_error(field if field in self.fields else None, exc.message)
        return True

    @staticmethod
    def initial_for(address: Mapping[str, str] | None) -> dict[str, str]:
        """Initial values from a stored address (the CEP shown as people write it)."""
        address = dict(address or {})
        initial = {PREFIX + key: address.get(key, "") for key in FIELDS}
        initial[PREFIX + "postal_code"] = format_postal_code(address)
        return initial


# The order people fill an address in Brazil: the CEP first (it names the rest).
ADDRESS_ORDER: tuple[str, ...] = (
    "postal_code",
    "line1",
    "number",
    "complement",
    "district",
    "city",
    "state",
    "country",
)
ADDRESS_FIELD_NAMES: list[str] = [PREFIX + key for key in ADDRESS_ORDER]
