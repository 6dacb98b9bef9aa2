"""Payment gateways behind one interface (``base.Gateway``)."""

from billing.gateways.base import Gateway


def get_gateway(name: str) -> Gateway:
    if name in ("sandbox", "sandbox_boleto", "sandbox_pix"):
        from billing.gateways import sandbox

        return {
            "sandbox": sandbox.SandboxGateway,
            "sandbox_boleto": sandbox.SandboxBoletoGateway,
            "sandbox_pix": sandbox.SandboxPixGateway,
        }[name]()
    raise LookupError(f"Unknown gateway: {name}")
