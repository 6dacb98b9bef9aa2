"""Customers over the REST API: CRUD, payment methods and entitlements."""

from __future__ import annotations

import re
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from billing import discounts as billing_discounts
from billing.discounts_api import (
    CustomerDiscountApplySerializer,
    DiscountSerializer,
    discount_data,
)
from billing.models import CouponRedemption
from billing.selectors import now_for
from core import clock
from core.api import (
    ApiViewSet,
    DeletedSerializer,
    ListFilter,
    MetadataField,
    ObjectField,
    PublicIdOf,
    Ref,
    StrictSerializer,
    input_of,
)
from core.errors import NotFound, ValidationFailed
from core.projection import Projection
from customers import services
from customers.models import Customer, PaymentMethod
from customers.selectors import customer_list, payment_method_list
from tenants.requests import TenantApiRequest

_LOCALES = [("en", "en"), ("pt-br", "pt-br"), ("ro", "ro")]


# --- customers -----------------------------------------------------------------------


class AddressSerializer(serializers.Serializer):
    """The shape of customers/domain/address.py, for the schema and responses."""

    line1 = serializers.CharField(required=False, help_text="Street.")
    number = serializers.CharField(required=False, help_text="Number.")
    complement = serializers.CharField(required=False, help_text="Complement.")
    district = serializers.CharField(required=False, help_text="District (bairro).")
    city = serializers.CharField(required=False, help_text="City.")
    state = serializers.CharField(required=False, help_text="State (UF in Brazil).")
    postal_code = serializers.CharField(required=False, help_text="Postal code (CEP: 8 digits).")
    country = serializers.CharField(required=False, help_text="ISO 3166-1 alpha-2.")


@extend_schema_field(AddressSerializer)
class AddressField(serializers.JSONField):
    """The stored address object as is (a column, so projections read it like any other)."""


class CustomerSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True, help_text="cus_…")
    object = ObjectField("customer")
    name = serializers.CharField(help_text="Full name or company name.")
    email = serializers.CharField(help_text="Email address, or empty.")
    phone = serializers.CharField(help_text="Phone number, or empty.")
    tax_id = serializers.CharField(help_text="CPF or CNPJ, unmasked, or empty.")
    locale = serializers.CharField(
        help_text="Language of the customer's documents and emails (en, pt-br, ro), or empty "
        "for the account's."
    )
    address = AddressField(help_text="Billing address; an empty object when none.")
    metadata = serializers.DictField(
        child=serializers.CharField(), help_text="Your own key-value pairs."
    )
    discount = serializers.SerializerMethodField(
        help_text="The coupon applied to the customer, or null: it discounts their next "
        "invoices, of every subscription without a discount of its own."
    )
    test_clock = PublicIdOf(
        "test_clock.public_id", help_text="The test clock the customer lives on, or null."
    )
    created = serializers.DateTimeField(source="created_at", read_only=True, help_text="When.")

    class Meta:
        model = Customer
        fields = [
            "id",
            "object",
            "name",
            "email",
            "phone",
            "tax_id",
            "locale",
            "address",
            "metadata",
            "discount",
            "test_clock",
            "created",
        ]
        read_only_fields = fields

    @extend_schema_field(DiscountSerializer(allow_null=True))
    def get_discount(self, obj: Any) -> dict[str, Any] | None:
        # A model instance, or the row a projection read (``public_id`` among its columns).
        if isinstance(obj, Customer):
            where = {"customer_id": obj.pk}
        else:
            where = {"customer__public_id": obj["public_id"]}
        found = (
            CouponRedemption.objects.select_related("coupon")
            .filter(ended_at__isnull=True, subscription__isnull=True, **where)
            .first()
        )
        return discount_data(found)


_CUSTOMER_ROW = Projection(CustomerSerializer)


def _test_clocks(tenant: Any) -> QuerySet[Any]:
    from billing.selectors import test_clock_list

    return test_clock_list(tenant=tenant)


class CustomerUpdateSerializer(StrictSerializer):
    name = serializers.CharField(
        required=False, max_length=200, help_text="Full name or company name."
    )
    email = serializers.EmailField(
        required=False, allow_blank=True, max_length=254, help_text="Email address."
    )
    phone = serializers.CharField(
        required=False, allow_blank=True, max_length=40, help_text="Phone number."
    )
    tax_id = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=32,
        help_text="CPF or CNPJ, masked or not (checked, stored unmasked).",
    )
    locale = serializers.ChoiceField(
        choices=[*_LOCALES, ("", "")],
        required=False,
        help_text="Language of documents and emails; empty for the account's.",
    )
    address = serializers.DictField(
        required=False,
        help_text="Billing address: line1, number, complement, district, city, state, "
        "postal_code, country (ISO alpha-2, default BR; a BR address needs a valid CEP and UF). "
        "An empty object clears it.",
    )
    metadata = MetadataField(required=False)


class CustomerCreateSerializer(CustomerUpdateSerializer):
    name = serializers.CharField(max_length=200, help_text="Full name or company name.")
    test_clock = Ref(
        queryset=_test_clocks,
        what="test clock",
        required=False,
        help_text="A test clock (clock_…) to put the customer's billing on; fixed at creation.",
    )


class EntitlementsSerializer(serializers.Serializer):
    object = ObjectField("entitlements")
    customer = serializers.CharField(help_text="cus_…")
    features = serializers.DictField(
        help_text="Merged entitlements of the customer's active and trialing subscriptions' "
        "plans: a flag is on if any plan grants it, a limit is the highest (null: unlimited)."
    )
    subscriptions = serializers.ListField(
        child=serializers.CharField(), help_text="The subscriptions granting them (sub_…)."
    )
    plans = serializers.ListField(child=serializers.CharField(), help_text="Their plans (plan_…).")


_ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The customer's id, cus_…")


@extend_schema_view(
    list=extend_schema(summary="List customers", responses=CustomerSerializer),
    retrieve=extend_schema(summary="Retrieve a customer", parameters=[_ID]),
    create=extend_schema(
        summary="Create a customer",
        request=CustomerCreateSerializer,
        responses={201: CustomerSerializer},
    ),
    partial_update=extend_schema(
        summary="Update a customer",
        parameters=[_ID],
        request=CustomerUpdateSerializer,
        responses=CustomerSerializer,
    ),
    destroy=extend_schema(
        summary="Delete a customer with no subscriptions, invoices or balance",
        parameters=[_ID],
        responses={200: DeletedSerializer},
    ),
    entitlements=extend_schema(
        summary="What the customer may use now", parameters=[_ID], responses=EntitlementsSerializer
    ),
)
class CustomerViewSet(ApiViewSet):
    serializer_class = CustomerSerializer
    object_name = "customer"
    list_filters = (ListFilter("email", "email__iexact", "Only customers with this email."),)
    request: TenantApiRequest

    def get_queryset(self) -> QuerySet[Customer]:
        return customer_list(tenant=self.request.tenant).select_related("test_clock")

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(CustomerSerializer(page, many=True).data)

    def retrieve(self, request: Request, id: str) -> Response:
        return Response(self.get_row(_CUSTOMER_ROW))

    def create(self, request: Request) -> Response:
        data = input_of(CustomerCreateSerializer, request)
        customer = services.customer_create(
            tenant=self.tenant, actor=self.actor, now=clock.now(), **data
        )
        return self.respond(CustomerSerializer, customer, status=201)

    def partial_update(self, request: Request, id: str) -> Response:
        customer = self.get_object()
        data = input_of(CustomerUpdateSerializer, request)
        customer = services.customer_update(
            tenant=self.tenant,
            customer_id=customer.pk,
            changes=data,
            actor=self.actor,
            now=clock.now(),
        )
        return self.respond(CustomerSerializer, customer)

    def destroy(self, request: Request, id: str) -> Response:
        customer = self.get_object()
        public_id = services.customer_delete(
            tenant=self.tenant, customer_id=customer.pk, actor=self.actor, now=clock.now()
        )
        return Response({"id": public_id, "object": "customer", "deleted": True})

    @extend_schema(
        methods=["POST"],
        operation_id="customer_discount_apply",
        summary="Apply a coupon to the customer",
        description="It discounts the customer's next invoices, of every subscription "
        "without a discount of its own (a subscription's discount wins, as in Stripe), "
        "within the coupon's duration (counted in the customer's invoices) and plans. "
        "Replaces the customer's discount.",
        parameters=[_ID],
        request=CustomerDiscountApplySerializer,
        responses=CustomerSerializer,
    )
    @extend_schema(
        methods=["DELETE"],
        operation_id="customer_discount_remove",
        summary="Remove the customer's discount (from their next invoices)",
        parameters=[_ID],
        request=None,
        responses={200: CustomerSerializer},
    )
    @action(detail=True, methods=["post", "delete"])
    def discount(self, request: Request, id: str) -> Response:
        customer = self.get_object()
        if request.method == "DELETE":
            billing_discounts.customer_discount_remove(
                tenant=self.tenant,
                customer_id=customer.pk,
                actor=self.actor,
                now=now_for(customer=customer, now=clock.now()),
            )
        else:
            data = input_of(CustomerDiscountApplySerializer, request)
            billing_discounts.customer_discount_apply(
                tenant=self.tenant,
                customer_id=customer.pk,
                actor=self.actor,
                now=now_for(customer=customer, now=clock.now()),
                **data,
            )
        return Response(self.get_row(_CUSTOMER_ROW))

    @action(detail=True, methods=["get"])
    def entitlements(self, request: Request, id: str) -> Response:
        from subscriptions.selectors import customer_entitlements

        customer = self.get_object()
        found = customer_entitlements(tenant=self.tenant, customer=customer)
        return Response(
            {
                "object": "entitlements",
                "customer": customer.public_id,
                "features": found.features,
                "subscriptions": found.subscriptions,
                "plans": found.plans,
            }
        )


# --- payment methods -------------------------------------------------------------------

# The sandbox's test tokens, as a client would get them from its tokenization:
# each stands for one of the documented test cards (billing/gateways/sandbox.py).
SANDBOX_TEST_TOKENS = {
    "tok_visa": "4242424242424242",
    "tok_mastercard": "5555555555554444",
    "tok_chargeDeclined": "4000000000000341",
    "tok_chargeDeclinedInsufficientFunds": "4000000000009995",
    "tok_chargeDeclinedExpiredCard": "4000000000000069",
    "tok_chargeDeclinedDoNotHonor": "4000000000000002",
    "tok_processingError": "4000000000000119",
    "tok_threeDSecureRequired": "4000002500003155",
    "tok_timeoutOnce": "4000000000004954",
}


class CardSerializer(serializers.Serializer):
    brand = serializers.CharField(help_text="visa, mastercard, …")
    last4 = serializers.CharField(help_text="The card number's last four digits.")
    exp_month = serializers.IntegerField(allow_null=True, help_text="Expiry month, 1-12.")
    exp_year = serializers.IntegerField(allow_null=True, help_text="Expiry year.")


class PaymentMethodSerializer(serializers.ModelSerializer):
    id = serializers.CharField(source="public_id", read_only=True, help_text="pm_…")
    object = ObjectField("payment_method")
    customer = PublicIdOf("customer.public_id", help_text="The customer (cus_…).")
    type = serializers.ChoiceField(
        source="kind", choices=PaymentMethod.Kind.choices, help_text="card, boleto or pix."
    )
    gateway = serializers.CharField(help_text="The gateway holding the token.")
    card = serializers.SerializerMethodField(help_text="The card's details, for cards.")
    is_default = serializers.BooleanField(
        help_text="Whether invoices are charged to it by default."
    )
    created = serializers.DateTimeField(source="created_at", help_text="When it was attached.")
    detached = serializers.DateTimeField(
        source="detached_at", allow_null=True, help_text="When it was detached, or null."
    )

    class Meta:
        model = PaymentMethod
        fields = [
            "id",
            "object",
            "customer",
            "type",
            "gateway",
            "card",
            "is_default",
            "created",
            "detached",
        ]
        read_only_fields = fields

    @extend_schema_field(CardSerializer(allow_null=True))
    def get_card(self, obj: PaymentMethod) -> dict[str, Any] | None:
        if obj.kind != PaymentMethod.Kind.CARD:
            return None
        return {
            "brand": obj.brand,
            "last4": obj.last4,
            "exp_month": obj.exp_month,
            "exp_year": obj.exp_year,
        }


class PaymentMethodAttachSerializer(StrictSerializer):
    type = serializers.ChoiceField(
        choices=PaymentMethod.Kind.choices,
        help_text="card (with a token or a confirmed Stripe SetupIntent), boleto or pix.",
    )
    token = serializers.CharField(
        max_length=80,
        required=False,
        help_text="A sandbox card token: a test token (tok_visa succeeds, "
        "tok_chargeDeclined… decline, tok_threeDSecureRequired needs authentication) or "
        "a tok_sandbox_… token from the sandbox tokenizer (POST /sandbox/tokens).",
    )

    def validate_token(self, value: str) -> str:
        if value not in SANDBOX_TEST_TOKENS and not SANDBOX_TOKEN.match(value):
            raise serializers.ValidationError("Unknown card token.", code="invalid_token")
        return value

    setup_intent = serializers.RegexField(
        r"^seti_[A-Za-z0-9_]{1,200}$",
        required=False,
        help_text="A succeeded Stripe SetupIntent (seti_…) that saved the card.",
    )
    make_default = serializers.BooleanField(
        required=False, default=True, help_text="Make it the default (default true)."
    )


_CUSTOMER = OpenApiParameter(
    "customer_id", str, OpenApiParameter.PATH, description="The customer's id, cus_…"
)
_PM = OpenApiParameter(
    "id", str, OpenApiParameter.PATH, description="The payment method's id, pm_…"
)


SANDBOX_TOKEN = re.compile(r"^tok_sandbox_[a-z_]{1,40}_[0-9a-f]{16}$")


def _attach_card(
    *, tenant: Any, customer: Customer, data: dict[str, Any], actor: Any, now: Any
) -> PaymentMethod:
    """Card numbers never reach our code: a card arrives as a token the gateway
    made (a sandbox test token, or one from the sandbox tokenizer) or as a
    confirmed Stripe SetupIntent on this customer's own Stripe mirror."""
    from billing.gateways.sandbox import SandboxGateway
    from billing.setup import card_setup_complete

    if ("token" in data) == ("setup_intent" in data):
        raise ValidationFailed("A card needs either token or setup_intent.", param="token")
    token = data.get("token", "")
    if token in SANDBOX_TEST_TOKENS:
        # A named test card: the sandbox tokenizes it, as its page would.
        token = (
            SandboxGateway()
            .tokenize_card(
                number=SANDBOX_TEST_TOKENS[token], exp_month=12, exp_year=now.year + 3, cvc="123"
            )
            .token
        )
    try:
        return card_setup_complete(
            tenant=tenant,
            customer=customer,
            gateway="sandbox" if token else "stripe",
            reference=token or data["setup_intent"],
            actor=actor,
            now=now,
            make_default=data["make_default"],
        )
    except LookupError:
        raise ValidationFailed(
            "Stripe is not set up for this account.", param="setup_intent"
        ) from None


class NoBodySerializer(StrictSerializer):
    """No parameters."""


class CardSetupSerializer(serializers.Serializer):
    object = ObjectField("card_setup")
    gateway = serializers.CharField(help_text="sandbox or stripe: who collects the card.")
    publishable_key = serializers.CharField(
        help_text="For stripe: the publishable key Stripe.js / Elements needs."
    )
    client_secret = serializers.CharField(
        help_text="For stripe: the SetupIntent's client secret for Elements; then attach "
        "the confirmed SetupIntent (seti_…). For the sandbox: empty — POST the card to "
        "/sandbox/tokens and attach the returned token."
    )


@extend_schema_view(
    list=extend_schema(
        summary="List a customer's payment methods",
        parameters=[_CUSTOMER],
        responses=PaymentMethodSerializer,
    ),
    retrieve=extend_schema(summary="Retrieve a payment method", parameters=[_CUSTOMER, _PM]),
    create=extend_schema(
        summary="Attach a payment method",
        parameters=[_CUSTOMER],
        request=PaymentMethodAttachSerializer,
        responses={201: PaymentMethodSerializer},
    ),
    destroy=extend_schema(
        summary="Detach a payment method",
        parameters=[_CUSTOMER, _PM],
        responses={200: PaymentMethodSerializer},
    ),
    setup=extend_schema(
        summary="Start saving a card (Stripe Elements or the sandbox tokenizer)",
        parameters=[_CUSTOMER],
        request=None,
        responses=CardSetupSerializer,
    ),
    set_default=extend_schema(
        summary="Make a payment method the customer's default",
        parameters=[_CUSTOMER, _PM],
        request=None,
        responses=PaymentMethodSerializer,
    ),
)
class PaymentMethodViewSet(ApiViewSet):
    serializer_class = PaymentMethodSerializer
    object_name = "payment method"

    def customer(self) -> Customer:
        value = self.kwargs.get("customer_id", "")
        found = customer_list(tenant=self.tenant).filter(public_id=value).first()
        if found is None:
            raise NotFound(f"No such customer: '{value}'", param="customer_id")
        return found

    def get_queryset(self) -> QuerySet[PaymentMethod]:
        return payment_method_list(tenant=self.tenant, customer=self.customer())

    def list(self, request: Request, customer_id: str) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response(PaymentMethodSerializer(page, many=True).data)

    def retrieve(self, request: Request, customer_id: str, id: str) -> Response:
        return self.respond(PaymentMethodSerializer, self.get_object())

    @action(detail=False, methods=["post"])
    # An action (POST …/payment_methods/setup), not Django's View.setup: DRF's viewsets
    # never call that one.
    def setup(self, request: Request, customer_id: str) -> Response:  # type: ignore[override]
        """Who collects the card and, for Stripe, a SetupIntent on the customer's
        Stripe mirror for Elements (checkout transparente)."""
        from billing.setup import card_setup_begin

        customer = self.customer()
        input_of(NoBodySerializer, request)
        started = card_setup_begin(tenant=self.tenant, customer=customer)
        return Response(
            CardSetupSerializer(
                {
                    "gateway": started.gateway,
                    "publishable_key": started.publishable_key,
                    "client_secret": started.client_secret,
                }
            ).data
        )

    def create(self, request: Request, customer_id: str) -> Response:
        from billing.payments import payment_method_attach_offline

        customer = self.customer()
        data = input_of(PaymentMethodAttachSerializer, request)
        now = clock.now()
        if data["type"] == PaymentMethod.Kind.CARD:
            method = _attach_card(
                tenant=self.tenant, customer=customer, data=data, actor=self.actor, now=now
            )
        else:
            if "token" in data or "setup_intent" in data:
                raise ValidationFailed(
                    "A boleto or Pix method takes no token.",
                    param="token" if "token" in data else "setup_intent",
                )
            method = payment_method_attach_offline(
                tenant=self.tenant,
                customer=customer,
                kind=data["type"],
                actor=self.actor,
                now=now,
                make_default=data["make_default"],
            )
        return self.respond(PaymentMethodSerializer, method, status=201)

    def destroy(self, request: Request, customer_id: str, id: str) -> Response:
        from customers.services import payment_method_detach

        method = payment_method_detach(
            tenant=self.tenant,
            payment_method_id=self.get_object().pk,
            actor=self.actor,
            now=clock.now(),
        )
        return self.respond(PaymentMethodSerializer, method)

    @action(detail=True, methods=["post"])
    def set_default(self, request: Request, customer_id: str, id: str) -> Response:
        from customers.services import payment_method_set_default

        method = payment_method_set_default(
            tenant=self.tenant,
            payment_method_id=self.get_object().pk,
            actor=self.actor,
            now=clock.now(),
        )
        return self.respond(PaymentMethodSerializer, method)


def register(router: SimpleRouter) -> None:
    router.register("customers", CustomerViewSet, basename="customer")
    router.register(
        r"customers/(?P<customer_id>[^/.]+)/payment_methods",
        PaymentMethodViewSet,
        basename="payment_method",
    )
