"""A local HTTP fake of the part of Stripe's API that ``StripeGateway`` uses.

It speaks the real wire format (form-encoded bodies with ``metadata[k]`` and
``expand[0]`` keys, JSON answers shaped like Stripe's objects, errors as
``{"error": {...}}`` with Stripe's HTTP statuses) so the gateway is exercised
through the official SDK, unpatched.

Idempotency works like Stripe's: a POST's ``Idempotency-Key`` (scoped to the API
key) stores the first answer once the endpoint has started executing; the same
key with the same parameters replays it (``Idempotent-Replayed: true``), with
other parameters or another endpoint it is a 400 ``idempotency_error``. Requests
rejected by validation (400) store nothing.

Test payment methods, by id, as Stripe's:

===========================================  ==========================================
pm_card_visa, pm_card_mastercard             succeed
pm_card_chargeDeclinedInsufficientFunds      declined: card_declined/insufficient_funds
pm_card_chargeDeclinedExpiredCard            declined: expired_card
pm_card_authenticationRequired               needs 3-D Secure on every payment: off-session
                                             a 402 authentication_required; on-session
                                             ``requires_action`` with a ``next_action``
===========================================  ==========================================

Faults: ``fail_next(status)`` answers the next request with an error, before
(default) or after doing the work; ``drop_next()`` closes the connection with no
answer, by default after doing the work (the money moved, the answer is lost).
``chaos(seed=…)`` draws such faults at random (seeded) on every request from
then on: 429s, connections dropped before or after the work, and answers
slower than the client's timeout. ``faults_served`` counts what was served.
``search_hides_everything`` imitates the Search API's indexing lag.
"""

from __future__ import annotations

import json
import random
import re
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

TEST_CARDS: dict[str, dict[str, Any]] = {
    "pm_card_visa": {"brand": "visa", "last4": "4242", "behaviour": "ok"},
    "pm_card_mastercard": {"brand": "mastercard", "last4": "4444", "behaviour": "ok"},
    "pm_card_chargeDeclinedInsufficientFunds": {
        "brand": "visa",
        "last4": "9995",
        "behaviour": "insufficient_funds",
    },
    "pm_card_chargeDeclinedExpiredCard": {
        "brand": "visa",
        "last4": "0069",
        "behaviour": "expired_card",
    },
    "pm_card_authenticationRequired": {
        "brand": "visa",
        "last4": "3184",
        "behaviour": "authenticate",
    },
}
DECLINES = {
    # behaviour: (code, decline_code, message, param)
    "insufficient_funds": (
        "card_declined",
        "insufficient_funds",
        "Your card has insufficient funds.",
        None,
    ),
    "expired_card": ("expired_card", "expired_card", "Your card has expired.", "exp_month"),
    "authenticate": (
        "authentication_required",
        "authentication_required",
        "Your card was declined. This transaction requires authentication.",
        None,
    ),
}
EXP_MONTH, EXP_YEAR = 12, 2034
API_VERSION = "2026-10-28.endive"


def _id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def parse_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding back into a structure: ``a[b][0]=x`` → {"a": {"b": ["x"]}}."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        head, *rest = key.split("[")
        path = [head] + [p.rstrip("]") for p in rest]
        node: dict[str, Any] = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        if path[-1] == "":  # a[]=x
            node.setdefault("", []).append(value)
        else:
            node[path[-1]] = value
    return _lists(root)


def _lists(node: Any) -> Any:
    """Dicts keyed 0..n (or by "[]") become lists."""
    if not isinstance(node, dict):
        return node
    node = {k: _lists(v) for k, v in node.items()}
    if set(node) == {""}:
        return node[""]
    if node and all(k.isdigit() for k in node):
        return [node[k] for k in sorted(node, key=int)]
    return node


class StripeFailure(Exception):
    """An error answer: the HTTP status and Stripe's error object."""

    def __init__(self, status: int, error: dict[str, Any], *, store: bool = False) -> None:
        super().__init__(error.get("message", ""))
        self.status, self.error, self.store = status, error, store


def _invalid(message: str, *, param: str | None = None, code: str | None = None) -> StripeFailure:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if param:
        error["param"] = param
    if code:
        error["code"] = code
    return StripeFailure(400, error)


def _missing(kind: str, ident: str, param: str) -> StripeFailure:
    return _invalid(f"No such {kind}: '{ident}'", param=param, code="resource_missing")


@dataclass
class _Fault:
    kind: str  # "status", "drop" or "slow" (answers after ``delay`` seconds)
    status: int
    after_processing: bool
    path: str | None
    delay: float = 0.0


@dataclass
class _Chaos:
    rng: random.Random
    weights: list[tuple[str, float]]  # fault name → probability per request
    delay: float
    path: str | None


class FakeStripe:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.customers: dict[str, dict[str, Any]] = {}
        self.setup_intents: dict[str, dict[str, Any]] = {}
        self.payment_methods: dict[str, dict[str, Any]] = {}
        self.payment_intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.behaviour: dict[str, str] = {}  # payment method id → test card behaviour
        self.idempotent: dict[tuple[str, str], tuple[Any, int, bytes]] = {}
        self.payment_intents_created = 0
        self.requests: list[tuple[str, str, dict[str, str]]] = []
        self.search_hides_everything = False
        self._faults: list[_Fault] = []
        self._chaos: _Chaos | None = None
        self.faults_served: Counter[str] = Counter()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------

    def start(self) -> FakeStripe:
        fake = self

        class Handler(_Handler):
            owner = fake

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    @property
    def api_base(self) -> str:
        assert self._server is not None, "the fake is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # -- faults --------------------------------------------------------------------

    def fail_next(
        self, status: int = 500, *, after_processing: bool = False, path: str | None = None
    ) -> None:
        """Answer the next request (to ``path``, if given) with ``status``. After
        processing, the work is done and the error is what Stripe stores for the key."""
        self._faults.append(_Fault("status", status, after_processing, path))

    def drop_next(self, *, after_processing: bool = True, path: str | None = None) -> None:
        """Close the next request's connection without an answer."""
        self._faults.append(_Fault("drop", 0, after_processing, path))

    def chaos(
        self,
        *,
        seed: int,
        rate_limited: float = 0.0,
        dropped_before: float = 0.0,
        dropped_after: float = 0.0,
        slow: float = 0.0,
        delay: float = 1.0,
        path: str | None = None,
    ) -> None:
        """From now on, each request (to ``path``) draws a fault with these
        probabilities: a 429 (nothing done), a connection closed before the work
        or after it (the answer lost), or an answer ``delay`` seconds late, after
        the work (longer than the client waits). ``chaos(seed=…)`` alone stops."""
        weights = [
            ("rate_limited", rate_limited),
            ("dropped_before", dropped_before),
            ("dropped_after", dropped_after),
            ("slow", slow),
        ]
        with self.lock:
            self._chaos = _Chaos(random.Random(seed), weights, delay, path)
            if not any(p for _name, p in weights):
                self._chaos = None

    def _take_fault(self, path: str) -> _Fault | None:
        with self.lock:
            for fault in self._faults:
                if fault.path is None or fault.path == path:
                    self._faults.remove(fault)
                    return fault
            chaos = self._chaos
            if chaos is None or chaos.path not in (None, path):
                return None
            draw, edge = chaos.rng.random(), 0.0
            for name, probability in chaos.weights:
                edge += probability
                if draw < edge:
                    self.faults_served[name] += 1
                    return {
                        "rate_limited": _Fault("status", 429, False, path),
                        "dropped_before": _Fault("drop", 0, False, path),
                        "dropped_after": _Fault("drop", 0, True, path),
                        "slow": _Fault("slow", 0, True, path, chaos.delay),
                    }[name]
        return None

    # -- what a browser (Stripe.js) or Stripe itself would do ----------------------

    def begin_authentication(self, intent_id: str, *, return_url: str) -> dict[str, Any]:
        """The customer is back on-session and Stripe.js confirms the intent: it
        now waits for 3-D Secure."""
        with self.lock:
            intent = self.payment_intents[intent_id]
            intent.update(
                status="requires_action",
                last_payment_error=None,
                next_action={
                    "type": "redirect_to_url",
                    "redirect_to_url": {
                        "url": f"https://hooks.stripe.com/3d_secure_2/hosted/{intent_id}",
                        "return_url": return_url,
                    },
                },
            )
            return dict(intent)

    def complete_authentication(self, intent_id: str, *, succeed: bool = True) -> dict[str, Any]:
        with self.lock:
            intent = self.payment_intents[intent_id]
            intent["next_action"] = None
            if succeed:
                self._succeed(intent)
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "invalid_request_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The provided PaymentMethod has failed authentication.",
                }
            return dict(intent)

    @staticmethod
    def event(type: str, obj: dict[str, Any], *, created: int | None = None) -> dict[str, Any]:
        """A webhook event as Stripe sends it (unsigned: sign the JSON yourself)."""
        return {
            "id": _id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()) if created is None else created,
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": type,
        }

    # -- request handling -----------------------------------------------------------

    def handle(
        self, method: str, path: str, params: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        routes: list[tuple[str, str, Any]] = [
            ("POST", r"/v1/customers", self._create_customer),
            ("POST", r"/v1/setup_intents", self._create_setup_intent),
            ("GET", r"/v1/setup_intents/(?P<id>[^/]+)", self._get_setup_intent),
            ("POST", r"/v1/setup_intents/(?P<id>[^/]+)/confirm", self._confirm_setup_intent),
            ("GET", r"/v1/payment_methods/(?P<id>[^/]+)", self._get_payment_method),
            ("POST", r"/v1/payment_intents", self._create_payment_intent),
            ("GET", r"/v1/payment_intents/search", self._search_payment_intents),
            ("GET", r"/v1/payment_intents/(?P<id>[^/]+)", self._get_payment_intent),
            ("POST", r"/v1/refunds", self._create_refund),
        ]
        for verb, pattern, view in routes:
            match = re.fullmatch(pattern, path)
            if verb == method and match:
                with self.lock:
                    return view(params, **match.groupdict())
        raise StripeFailure(
            404,
            {
                "type": "invalid_request_error",
                "message": f"Unrecognized request URL ({method}: {path}).",
            },
        )

    def _expand(self, obj: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in obj.items() if not k.startswith("_")}
        for field in params.get("expand") or []:
            ref = out.get(field)
            if isinstance(ref, str):
                for table in (self.payment_methods, self.customers, self.payment_intents):
                    if ref in table:
                        out[field] = dict(table[ref])
        return out

    # customers

    def _create_customer(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        customer = {
            "id": _id("cus"),
            "object": "customer",
            "created": int(time.time()),
            "email": p.get("email"),
            "name": p.get("name"),
            "description": p.get("description"),
            "metadata": p.get("metadata") or {},
            "livemode": False,
            "invoice_settings": {"default_payment_method": None},
        }
        self.customers[customer["id"]] = customer
        return 200, self._expand(customer, p)

    # setup intents and payment methods

    def _create_setup_intent(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        customer = p.get("customer")
        if customer and customer not in self.customers:
            raise _missing("customer", customer, "customer")
        ident = _id("seti")
        intent = {
            "id": ident,
            "object": "setup_intent",
            "client_secret": f"{ident}_secret_{secrets.token_hex(12)}",
            "created": int(time.time()),
            "customer": customer,
            "payment_method": None,
            "payment_method_types": p.get("payment_method_types") or ["card"],
            "status": "requires_payment_method",
            "usage": p.get("usage") or "off_session",
            "last_setup_error": None,
            "next_action": None,
            "metadata": p.get("metadata") or {},
            "livemode": False,
        }
        self.setup_intents[ident] = intent
        return 200, self._expand(intent, p)

    def _get_setup_intent(self, p: dict[str, Any], id: str) -> tuple[int, dict[str, Any]]:
        if id not in self.setup_intents:
            raise _missing("setup_intent", id, "intent")
        return 200, self._expand(self.setup_intents[id], p)

    def _confirm_setup_intent(self, p: dict[str, Any], id: str) -> tuple[int, dict[str, Any]]:
        """What Stripe Elements does in the browser with the client secret."""
        if id not in self.setup_intents:
            raise _missing("setup_intent", id, "intent")
        intent = self.setup_intents[id]
        if intent["status"] == "succeeded":
            raise _invalid(
                "You cannot confirm this SetupIntent because it has already succeeded.",
                code="setup_intent_unexpected_state",
            )
        method = self._payment_method(p.get("payment_method") or "", "payment_method")
        if intent["customer"]:
            method["customer"] = intent["customer"]
        intent.update(status="succeeded", payment_method=method["id"])
        return 200, self._expand(intent, p)

    def _payment_method(self, ident: str, param: str) -> dict[str, Any]:
        """A stored method, or a fresh one made from a test card alias (as Stripe
        does: each use of ``pm_card_visa`` yields a new ``pm_…``)."""
        if ident in self.payment_methods:
            return self.payment_methods[ident]
        card = TEST_CARDS.get(ident)
        if card is None:
            raise _missing("PaymentMethod", ident, param)
        method = {
            "id": _id("pm"),
            "object": "payment_method",
            "type": "card",
            "created": int(time.time()),
            "customer": None,
            "billing_details": {"email": None, "name": None},
            "card": {
                "brand": card["brand"],
                "last4": card["last4"],
                "exp_month": EXP_MONTH,
                "exp_year": EXP_YEAR,
                "funding": "credit",
                "country": "US",
            },
            "metadata": {},
            "livemode": False,
        }
        self.payment_methods[method["id"]] = method
        self.behaviour[method["id"]] = card["behaviour"]
        return method

    def _get_payment_method(self, p: dict[str, Any], id: str) -> tuple[int, dict[str, Any]]:
        if id not in self.payment_methods:
            raise _missing("PaymentMethod", id, "payment_method")
        return 200, self._expand(self.payment_methods[id], p)

    # payment intents

    def _create_payment_intent(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        amount, currency = p.get("amount"), p.get("currency")
        if amount is None:
            raise _invalid(
                "Missing required param: amount.", param="amount", code="parameter_missing"
            )
        if not str(amount).isdigit() or int(amount) < 1:
            raise _invalid(
                "Invalid integer: " + str(amount), param="amount", code="parameter_invalid_integer"
            )
        if not currency:
            raise _invalid(
                "Missing required param: currency.", param="currency", code="parameter_missing"
            )
        customer = p.get("customer")
        if customer and customer not in self.customers:
            raise _missing("customer", customer, "customer")
        method = None
        if p.get("payment_method"):
            method = self._payment_method(p["payment_method"], "payment_method")
            if method["customer"] and method["customer"] != customer:
                raise _invalid(
                    "The provided PaymentMethod is attached to another customer: pass that "
                    "customer with it.",
                    param="payment_method",
                )
        ident = _id("pi")
        intent: dict[str, Any] = {
            "id": ident,
            "object": "payment_intent",
            "amount": int(amount),
            "amount_received": 0,
            "capture_method": "automatic",
            "client_secret": f"{ident}_secret_{secrets.token_hex(12)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "customer": customer,
            "description": p.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": p.get("metadata") or {},
            "next_action": None,
            "payment_method": method["id"] if method else None,
            "payment_method_types": p.get("payment_method_types") or ["card"],
            "status": "requires_payment_method" if method is None else "requires_confirmation",
            "cancellation_reason": None,
            "_refunded": 0,
        }
        self.payment_intents[ident] = intent
        self.payment_intents_created += 1
        if p.get("confirm") == "true" and method is not None:
            self._confirm(intent, method, off_session=p.get("off_session") == "true", params=p)
        return 200, self._expand(intent, p)

    def _confirm(
        self, intent: dict[str, Any], method: dict[str, Any], *, off_session: bool, params: Any
    ) -> None:
        behaviour = self.behaviour.get(method["id"], "ok")
        if behaviour == "ok":
            self._succeed(intent)
            return
        if behaviour == "authenticate" and not off_session:
            intent["status"] = "requires_action"
            return_url = params.get("return_url")
            intent["next_action"] = (
                {
                    "type": "redirect_to_url",
                    "redirect_to_url": {
                        "url": f"https://hooks.stripe.com/3d_secure_2/hosted/{intent['id']}",
                        "return_url": return_url,
                    },
                }
                if return_url
                else {
                    "type": "use_stripe_sdk",
                    "use_stripe_sdk": {"type": "three_d_secure_redirect"},
                }
            )
            return
        code, decline_code, message, param = DECLINES[behaviour]
        charge = _id("ch")
        error: dict[str, Any] = {
            "type": "card_error",
            "code": code,
            "decline_code": decline_code,
            "message": message,
            "charge": charge,
            "doc_url": f"https://docs.stripe.com/error-codes/{code.replace('_', '-')}",
            "payment_method": {k: v for k, v in method.items() if not k.startswith("_")},
        }
        if param:
            error["param"] = param
        intent.update(
            status="requires_payment_method", latest_charge=charge, last_payment_error=error
        )
        raise StripeFailure(
            402, {**error, "payment_intent": self._expand(intent, params)}, store=True
        )

    def _succeed(self, intent: dict[str, Any]) -> None:
        intent.update(
            status="succeeded",
            amount_received=intent["amount"],
            latest_charge=_id("ch"),
            last_payment_error=None,
        )

    def _get_payment_intent(self, p: dict[str, Any], id: str) -> tuple[int, dict[str, Any]]:
        if id not in self.payment_intents:
            raise _missing("payment_intent", id, "intent")
        return 200, self._expand(self.payment_intents[id], p)

    _QUERY = re.compile(
        r"\s*metadata\[(['\"])(?P<key>.+?)\1\]\s*:\s*'(?P<value>(?:[^'\\]|\\.)*)'\s*"
    )

    def _search_payment_intents(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        query = p.get("query")
        if not query:
            raise _invalid(
                "Missing required param: query.", param="query", code="parameter_missing"
            )
        match = self._QUERY.fullmatch(query)
        if match is None:
            raise _invalid(f"The fake only searches metadata['key']:'value', not {query!r}.")
        key, value = match["key"], re.sub(r"\\(.)", r"\1", match["value"])
        hits = [
            self._expand(intent, p)
            for intent in sorted(self.payment_intents.values(), key=lambda i: -i["created"])
            if not self.search_hides_everything and intent["metadata"].get(key) == value
        ]
        limit = int(p.get("limit") or 10)
        return 200, {
            "object": "search_result",
            "data": hits[:limit],
            "has_more": len(hits) > limit,
            "next_page": None,
            "url": "/v1/payment_intents/search",
        }

    # refunds

    def _create_refund(self, p: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        ident = p.get("payment_intent")
        if not ident:
            raise _invalid(
                "Missing required param: payment_intent.",
                param="payment_intent",
                code="parameter_missing",
            )
        intent = self.payment_intents.get(ident)
        if intent is None:
            raise _missing("payment_intent", ident, "payment_intent")
        if intent["status"] != "succeeded":
            raise _invalid(
                "This PaymentIntent does not have a successful charge to refund.",
                param="payment_intent",
                code="charge_not_refundable",
            )
        left = intent["amount"] - intent["_refunded"]
        if left <= 0:
            raise _invalid(
                f"Charge {intent['latest_charge']} has already been refunded.",
                code="charge_already_refunded",
            )
        amount = int(p.get("amount") or left)
        if amount > left:
            raise _invalid(
                f"Refund amount ({amount}) is greater than unrefunded amount on charge ({left})",
                param="amount",
                code="amount_too_large",
            )
        intent["_refunded"] += amount
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "created": int(time.time()),
            "currency": intent["currency"],
            "metadata": p.get("metadata") or {},
            "payment_intent": ident,
            "reason": p.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund["id"]] = refund
        return 200, self._expand(refund, p)

    def refunded(self, intent_id: str) -> int:
        return int(self.payment_intents[intent_id]["_refunded"])


class _Handler(BaseHTTPRequestHandler):
    owner: FakeStripe

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, method: str) -> None:
        fake = self.owner
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        pairs = parse_qsl(url.query if method == "GET" else raw, keep_blank_values=True)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with fake.lock:
            fake.requests.append((method, url.path, headers))
        fault = fake._take_fault(url.path)
        if fault is not None and not fault.after_processing:
            return self._fault(fault)

        auth = headers.get("authorization", "")
        if not auth.startswith("Bearer sk_"):
            return self._send(
                401,
                {
                    "error": {
                        "type": "invalid_request_error",
                        "message": "Invalid API Key provided.",
                    }
                },
            )
        key = headers.get("idempotency-key") if method == "POST" else None
        fingerprint = (url.path, sorted(pairs))
        if key:
            with fake.lock:
                stored = fake.idempotent.get((auth, key))
            if stored is not None:
                if stored[0] != fingerprint:
                    return self._send(
                        400,
                        {
                            "error": {
                                "type": "idempotency_error",
                                "message": "Keys for idempotent requests can only be used with "
                                "the same parameters they were first used with. Try using a "
                                f"key other than '{key}' if you meant to execute a different "
                                "request.",
                            }
                        },
                    )
                return self._send(stored[1], stored[2], replayed=True)

        params = parse_form(pairs)
        try:
            status, body = fake.handle(method, url.path, params, headers)
            store = True
        except StripeFailure as failure:
            status, body, store = failure.status, {"error": failure.error}, failure.store
        if fault is not None:  # the work is done, but the answer goes wrong
            if fault.kind == "status":
                status, body, store = fault.status, _fault_body(fault.status), True
            elif fault.kind == "slow":
                if key and store:
                    with fake.lock:
                        fake.idempotent.setdefault((auth, key), (fingerprint, status, body))
                time.sleep(fault.delay)  # the client has given up by now
                with suppress(OSError):
                    self._send(status, body)
                return None
            elif key:
                with fake.lock:
                    fake.idempotent.setdefault((auth, key), (fingerprint, status, body))
                return self._fault(fault)
        if key and store:
            with fake.lock:
                fake.idempotent.setdefault((auth, key), (fingerprint, status, body))
        return self._send(status, body)

    def _fault(self, fault: _Fault) -> None:
        if fault.kind == "drop":
            self.close_connection = True
            with suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return None
        return self._send(fault.status, _fault_body(fault.status))

    def _send(self, status: int, body: dict[str, Any], *, replayed: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Request-Id", _id("req"))
        self.send_header("Stripe-Version", API_VERSION)
        if replayed:
            self.send_header("Idempotent-Replayed", "true")
        self.end_headers()
        self.wfile.write(data)


def _fault_body(status: int) -> dict[str, Any]:
    if status == 429:
        return {
            "error": {
                "type": "invalid_request_error",
                "code": "rate_limit",
                "message": "Too many requests hit the API too quickly.",
            }
        }
    return {"error": {"type": "api_error", "message": "An unknown error occurred."}}


@contextmanager
def running() -> Iterator[FakeStripe]:
    fake = FakeStripe().start()
    try:
        yield fake
    finally:
        fake.stop()
