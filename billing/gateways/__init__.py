"""Payment gateways behind one interface (``base.Gateway``)."""

from billing.gateways.base import Gateway


def get_gateway(name: str) -> Gateway:
    """The gateway ``name`` for the current tenant (its own credentials for
    Stripe; the sandbox needs none). ``LookupError`` when there is none."""
    if name in ("sandbox", "sandbox_boleto", "sandbox_pix"):
        from billing.gateways import sandbox

        return {
            "sandbox": sandbox.SandboxGateway,
            "sandbox_boleto": sandbox.SandboxBoletoGateway,
            "sandbox_pix": sandbox.SandboxPixGateway,
        }[name]()
    if name == "sandbox_pixauto":
        from billing.gateways.pix_automatico import SandboxPixAutomaticoPsp

        return SandboxPixAutomaticoPsp()
    if name == "stripe":
        from django.conf import settings

        from billing.gateways.stripe import StripeGateway
        from billing.models import GatewayAccount
        from tenants.context import current_tenant

        if current_tenant() is not None:
            # A live account wins over a test one when a tenant has both.
            account = (
                GatewayAccount.objects.filter(gateway="stripe", active=True)
                .order_by("mode")  # "live" < "test"
                .first()
            )
            if account is not None:
                creds = account.credentials
                return StripeGateway(
                    creds["api_key"],
                    creds["webhook_secret"],
                    settings.STRIPE_API_BASE,
                    timeout=settings.STRIPE_TIMEOUT,
                )
        return StripeGateway.from_settings()
    raise LookupError(f"Unknown gateway: {name}")
