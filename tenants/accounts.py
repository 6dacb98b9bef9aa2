"""Staff users created by commands (the demo seed, ``create_tenant``)."""

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.db import transaction

from tenants.models import User as StaffUser


@transaction.atomic
def staff_user_ensure(*, email: str, password: str | None = None) -> StaffUser:
    """The staff user with ``email``, created with a verified address if missing."""
    User = get_user_model()
    email = User.objects.normalize_email(email).lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email, username=email[:150])
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save()
    elif password and not user.check_password(password):
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user
