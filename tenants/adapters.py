from typing import Any

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction
from django.http import HttpRequest

from core import clock
from tenants.models import User
from tenants.services import tenant_create


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request: HttpRequest, user: User, form: Any, commit: bool = True) -> User:
        """Signing up creates the merchant's tenant and makes the user its owner."""
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                tenant_create(name=form.cleaned_data["company"], owner=user, now=clock.now())
        return user
