"""Payment gateways behind one interface (``base.Gateway``)."""

from billing.gateways.base import Gateway


def get_gateway(name: str) -> Gateway:
    if name == "sandbox":
        from billing.gateways.sandbox import SandboxGateway

        return SandboxGateway()
    raise LookupError(f"Unknown gateway: {name}")
