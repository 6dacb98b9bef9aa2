from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from core.errors import ValidationFailed
from notifications import catalog
from notifications.message_templates import validate_source


class MessageTemplateForm(forms.Form):
    """The merchant's subject and text for one (message, channel, language).

    A template that does not compile is a form error (with Django's message,
    which says where), never a server error."""

    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 16}))

    def __init__(self, *args: Any, channel: str, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel == catalog.SMS:
            del self.fields["subject"]
        else:
            self.fields["subject"].help_text = _("Leave empty to keep Ciclo's subject.")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        try:
            validate_source(
                channel=self.channel, subject=data.get("subject", ""), body=data.get("body", "")
            )
        except ValidationFailed as exc:
            field = exc.param if exc.param in self.fields else None
            self.add_error(field, exc.message)
        return data


class SmsAccountForm(forms.Form):
    account_sid = forms.CharField(label=_("Twilio account SID"), max_length=34)
    auth_token = forms.CharField(
        label=_("Twilio auth token"), max_length=32, widget=forms.PasswordInput
    )
    from_number = forms.CharField(
        label=_("Sender number"), max_length=16, help_text=_("E.164, e.g. +5511999990000")
    )
