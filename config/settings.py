"""Ciclo settings, read from the environment (12-factor).

With no environment set, Ciclo runs embedded: SQLite, a filesystem Celery
broker and console email, so ``make run`` needs nothing installed. Production
sets DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, EMAIL_URL and DEBUG=0.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=True)
_INSECURE_KEY = "django-insecure-ciclo-local-development-only-never-in-production"
SECRET_KEY = env.str("SECRET_KEY", default=_INSECURE_KEY)
if not DEBUG and SECRET_KEY == _INSECURE_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=0.")

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
NUM_PROXIES = env.int("NUM_PROXIES", default=0)
# Links in emails and on the Payments page; follows PORT (as `make run` serves it) when unset.
SITE_URL = env.str("SITE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}")
# How long a signed portal link from an email stays valid (seconds).
PORTAL_LINK_MAX_AGE = env.int("PORTAL_LINK_MAX_AGE", default=7 * 24 * 3600)
# "Continue with Google" in the portal (portal/oidc.py): the OpenID provider's
# endpoints, Google's by default; tests point them at tests/support/fake_oidc.py.
GOOGLE_OIDC = {
    "issuer": env.str("GOOGLE_OIDC_ISSUER", default="https://accounts.google.com"),
    "authorization_endpoint": env.str(
        "GOOGLE_OIDC_AUTHORIZATION_ENDPOINT",
        default="https://accounts.google.com/o/oauth2/v2/auth",
    ),
    "token_endpoint": env.str(
        "GOOGLE_OIDC_TOKEN_ENDPOINT", default="https://oauth2.googleapis.com/token"
    ),
    "jwks_uri": env.str(
        "GOOGLE_OIDC_JWKS_URI", default="https://www.googleapis.com/oauth2/v3/certs"
    ),
}

INSTALLED_APPS = [
    # tenants before django.*: its `migrate` command wraps Django's (owner role, grants).
    "core",
    "tenants",
    "customers",
    "subscriptions",
    "billing",
    "dunning",
    "notifications",
    "portal",
    "checkout",
    "dashboard",
    "reports",
    "config.admin_apps.AdminConfig",  # Django's admin behind allauth + MFA
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "django_htmx",
    "drf_spectacular_sidecar",  # Swagger UI served from our static files (offline)
    "allauth",
    "allauth.account",
    "allauth.mfa",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "core.csp.ContentSecurityPolicyMiddleware",
    "core.middleware.RequestContextMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "tenants.middleware.TenantMiddleware",
    "tenants.middleware.RequireMfaMiddleware",
    "tenants.localtime.TenantTimeZoneMiddleware",
    # API only (issue 6): rate limits per key, then Idempotency-Key replays.
    "core.ratelimit.RateLimitMiddleware",
    "tenants.idempotency.IdempotencyMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.tenant",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------
# DATABASE_URL names the owner of the tables: migrations run as it. On
# PostgreSQL the application itself connects as DATABASE_APP_USER, a role that
# does not own the tables, so row-level security applies to every query
# (DESIGN.md invariant 1). See tenants/db/postgresql/base.py.
VAR_DIR.mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'ciclo.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["ENGINE"] = "tenants.db.postgresql"
    DATABASES["default"]["APP_USER"] = env.str("DATABASE_APP_USER", default="ciclo_app")
    DATABASES["default"]["APP_PASSWORD"] = env.str("DATABASE_APP_PASSWORD", default="")
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # Lets several test runs share one server (each its own test database).
    if env.str("TEST_DATABASE_NAME", default=""):
        DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME")}
else:
    # web, worker and beat share the file: WAL lets readers run beside the writer, and
    # IMMEDIATE transactions wait (up to the timeout) instead of failing "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker --------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("CACHE_URL", default=REDIS_URL),
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="ciclo"),
        }
    }
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
    # The embedded broker: Kombu's filesystem transport, shared by web,
    # worker and beat through a folder. Nothing to install.
    _broker_dir = VAR_DIR / "broker"
    _broker_dir.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default=REDIS_URL or None)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {
    "billing-run": {"task": "billing.run", "schedule": 60.0},
    "reconcile-payments": {"task": "billing.reconcile_payments", "schedule": 300.0},
    "charge-due-installments": {"task": "billing.charge_due_installments", "schedule": 3600.0},
    "cards-expiring": {"task": "billing.cards_expiring", "schedule": 86400.0},
    "idempotency-keys-purge": {"task": "core.idempotency_keys_purge", "schedule": 3600.0},
    # reports/tasks.py: roll yesterday (and any day written late) into DailyMetrics.
    "reports-snapshot": {"task": "reports.snapshot", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# subscriptions/tasks.py: readjustments (reajuste) whose notice day came are decided
# and their notice sent; the engine applies them from the next period.
# billing/tasks.py: each Pix Automático cycle's instruction, D-10 to D-2 (hourly).
CELERY_BEAT_SCHEDULE["pix-automatico-instructions"] = {
    "task": "billing.pix_instructions_send",
    "schedule": 3600.0,
}
CELERY_BEAT_SCHEDULE["readjustments-sweep"] = {
    "task": "subscriptions.readjustments_sweep",
    "schedule": 3600.0,
}

# --- Outbox dispatch and outbound webhooks (notifications/outbox.py, webhooks/)
CELERY_BEAT_SCHEDULE["outbox-dispatch"] = {"task": "notifications.dispatch_outbox", "schedule": 2.0}
CELERY_BEAT_SCHEDULE["webhooks-send-due"] = {
    "task": "notifications.webhooks_send_due",
    "schedule": 5.0,
}
# One request's time limit (connect + answer), in seconds.
WEBHOOK_TIMEOUT_SECONDS = env.float("WEBHOOK_TIMEOUT_SECONDS", default=10.0)
# Plain-http endpoints on localhost/127.0.0.1 (development and tests only);
# every other private or internal address is always refused (SSRF).
WEBHOOK_ALLOW_LOCAL_URLS = env.bool("WEBHOOK_ALLOW_LOCAL_URLS", default=DEBUG)
# After a rotation the previous secret keeps signing (a second signature) this long.
WEBHOOK_SECRET_ROTATION_GRACE_HOURS = env.int("WEBHOOK_SECRET_ROTATION_GRACE_HOURS", default=24)

# --- Dunning (dunning/tasks.py): every hour on the hour; each step is due at
# its tenant's local hour, so one sweep per hour serves every time zone.
CELERY_BEAT_SCHEDULE["dunning-sweep"] = {
    "task": "dunning.sweep",
    "schedule": __import__("celery.schedules", fromlist=["crontab"]).crontab(minute="0"),
}

# --- What apps register for lower apps to call (core/registry.py), so that a
# lower app tells higher ones what happened without importing them (DESIGN.md).
# Billing's listeners (billing/listeners.py): an invoice settled, a payment unsettled.
BILLING_LISTENERS = [
    "billing.commissions.CommissionListener",
    "billing.fulfilment.FulfilmentListener",
    "dunning.listeners.DunningListener",
]
# Called as f(tenant=…, now=…) in the transaction that creates a tenant.
TENANT_CREATED_LISTENERS = ["dunning.services.dunning_policies_seed"]
# Called as f(events) with the PendingEvents tenants/outbox.py just wrote, in
# their transaction: reports keeps its MRR movement log (reports/movements.py).
OUTBOX_LISTENERS = [
    "reports.movements.events_written",
    "subscriptions.entitlement_push.events_written",
]
# The scheduled work a test clock replays (billing/clocks.py); at one moment
# they run in this order.
TEST_CLOCK_SWEEPS = [
    "billing.clocks.RenewalSweep",
    "billing.clocks.InstallmentSweep",
    "billing.pix_automatico.PixInstructionSweep",
    "dunning.sweeps.DunningSweep",
    "subscriptions.clocks.ReadjustmentSweep",
    "notifications.notices.NoticeSweep",
]
# Deleting a test clock: each app deletes its own rows of the clock's customers,
# called as f(tenant=…, clock=…) in this order (the ones that point at others first);
# customers deletes the customers and the clock last.
TEST_CLOCK_DELETERS = [
    "notifications.notices.clock_rows_delete",
    "dunning.services.clock_rows_delete",
    "billing.clocks.clock_rows_delete",
    "reports.movements.clock_rows_delete",
    "subscriptions.clocks.clock_rows_delete",
    "customers.services.clock_rows_delete",
]

# --- Auth (django-allauth with MFA) ---------------------------------------
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTH_USER_MODEL = "tenants.User"
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard:home"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = env.str("ACCOUNT_EMAIL_VERIFICATION", default="mandatory")
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_SIGNUP_FORM_CLASS = "tenants.forms.SignupForm"
ACCOUNT_ADAPTER = "tenants.adapters.AccountAdapter"
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
# Brute-force lockout: after 5 failed logins for one account (or 20 from one
# address) within 15 minutes, logging in is refused until the window passes.
ACCOUNT_RATE_LIMITS = {
    "login_failed": env.str("LOGIN_FAILED_RATE_LIMIT", default="20/15m/ip,5/15m/key"),
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Django's admin (every tenant's rows): off in production unless asked for, and
# then behind allauth's login and a second factor (config/admin_site.py).
ADMIN_ENABLED = env.bool("ADMIN_ENABLED", default=DEBUG)
MFA_TOTP_ISSUER = "Ciclo"
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Ciclo] "

# --- Payments ----------------------------------------------------------------
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
STRIPE_API_BASE = env.str("STRIPE_API_BASE", default="") or None  # tests point it at a fake
# A platform-wide Stripe account, for installs where tenants do not bring their own.
STRIPE_API_KEY = env.str("STRIPE_API_KEY", default="")
STRIPE_WEBHOOK_SECRET = env.str("STRIPE_WEBHOOK_SECRET", default="")
# Stripe Elements in the portal needs the matching publishable key.
STRIPE_PUBLISHABLE_KEY = env.str("STRIPE_PUBLISHABLE_KEY", default="")
SANDBOX_WEBHOOK_SECRET = env.str("SANDBOX_WEBHOOK_SECRET", default="whsec_sandbox_local_only")
# Requests per second we send to one Stripe account, below what Stripe allows
# (about 100 live, 25 test) to leave room for the dashboard and Stripe's own
# counting; every worker shares the account's bucket (billing/gateways/throttle.py).
STRIPE_RATE_LIMIT_LIVE = env.float("STRIPE_RATE_LIMIT_LIVE", default=80.0)
STRIPE_RATE_LIMIT_TEST = env.float("STRIPE_RATE_LIMIT_TEST", default=20.0)
STRIPE_TIMEOUT = env.float("STRIPE_TIMEOUT", default=30.0)  # seconds per request
# A worker waits at most this long for its turn before leaving a charge pending.
GATEWAY_THROTTLE_MAX_WAIT = env.float("GATEWAY_THROTTLE_MAX_WAIT", default=30.0)
# A 429 or no answer is retried under the same idempotency key: tries in all,
# then exponential backoff with full jitter from the base delay up to the cap (s).
GATEWAY_RETRY_ATTEMPTS = env.int("GATEWAY_RETRY_ATTEMPTS", default=5)
GATEWAY_RETRY_BASE_DELAY = env.float("GATEWAY_RETRY_BASE_DELAY", default=0.5)
GATEWAY_RETRY_MAX_DELAY = env.float("GATEWAY_RETRY_MAX_DELAY", default=8.0)

# --- Email ----------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Ciclo <no-reply@ciclo.local>")

# --- Subscriber messages: email and SMS (notifications/messages.py) ----------
# SMS: "console" (logs the message) or "twilio" with the platform's account;
# a tenant's own Twilio account (dashboard) takes precedence.
SMS_PROVIDER = env.str("SMS_PROVIDER", default="console")
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="")
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="")
TWILIO_FROM = env.str("TWILIO_FROM", default="")
TWILIO_API_BASE = env.str("TWILIO_API_BASE", default="") or None  # tests point it at a fake
MESSAGE_MAX_ATTEMPTS = env.int("MESSAGE_MAX_ATTEMPTS", default=6)
MESSAGE_RETRY_BASE_SECONDS = env.int("MESSAGE_RETRY_BASE_SECONDS", default=60)
# A send not settled after this long (its worker died) is tried again.
MESSAGE_SENDING_TIMEOUT_SECONDS = env.int("MESSAGE_SENDING_TIMEOUT_SECONDS", default=600)
# How long an invoice email waits for its boleto / Pix code to be issued.
MESSAGE_DETAILS_WAIT_SECONDS = env.int("MESSAGE_DETAILS_WAIT_SECONDS", default=1800)
CELERY_BEAT_SCHEDULE["messages-send-due"] = {
    "task": "notifications.send_due_messages",
    "schedule": 60.0,
}
CELERY_BEAT_SCHEDULE["notices"] = {"task": "notifications.notices", "schedule": 3600.0}

# --- i18n -----------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("pt-br", _("Portuguese (Brazil)")), ("ro", _("Romanian"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static ---------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
# Front-end packages come from npm (package.json, installed by `make install`), never a CDN:
# only their built files are served, each under its own prefix.
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
    ("vendor/chartjs", BASE_DIR / "node_modules" / "chart.js" / "dist"),
]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(VAR_DIR / "media"))
MEDIA_URL = "media/"

# --- REST API -------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["tenants.auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["tenants.auth.HasTenantApiKey"],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ApiSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PAGINATION_CLASS": "core.pagination.CursorPagination",
    # JSON in and out: one body format, described exactly by the schema.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],  # with a nesting limit
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Ciclo API",
    "DESCRIPTION": (
        "Subscription billing API. Authenticate with `Authorization: Bearer sk_…`. "
        "Ids are prefixed strings, money is integer minor units with a currency, times "
        "are ISO 8601 in UTC. Lists are cursor-paginated (`limit`, `starting_after`) and "
        "filter by creation time with `created[gte]` / `created[lte]`. Every POST takes an "
        '`Idempotency-Key`. Errors are `{"error": {type, code, message, param}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from drf-spectacular-sidecar's static files, not a CDN; no
    # validator badge (an outside image the CSP would refuse anyway).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "core.api.schema.schema_postprocess",
    ],
    "ENUM_NAME_OVERRIDES": {
        "SubscriptionStatusEnum": "subscriptions.models.SubscriptionStatus",
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
        "PaymentStatusEnum": "billing.models.PaymentAttempt.Status",
        "RefundStatusEnum": "billing.models.Refund.Status",
        "PaymentMethodKindEnum": "customers.models.PaymentMethod.Kind",
        "LocaleEnum": LANGUAGES,
        "WebhookEndpointStatusEnum": "notifications.models.WebhookEndpoint.Status",
        "IndexSeriesKindEnum": "subscriptions.models.IndexSeries.Kind",
        "PixMandateStatusEnum": "billing.models.pix_automatico.MandateStatus",
        "PixInstructionStatusEnum": "billing.models.PixInstruction.Status",
        # A coupon's and a readjustment policy's "applies_to" are different choices;
        # the coupon's keeps the name it had.
        "AppliesToEnum": "billing.models.Coupon.AppliesTo",
        "ReadjustmentAppliesToEnum": "subscriptions.models.ReadjustmentPolicy.AppliesTo",
        # A discount applies now or from the next invoice; its own name keeps the
        # plan change's "ProrationEnum" (none / next_invoice / invoice_now) stable.
        "DiscountProrationEnum": [("next_invoice", "next_invoice"), ("now", "now")],
        "ProrationEnum": [
            ("next_invoice", "next_invoice"),
            ("invoice_now", "invoice_now"),
            ("none", "none"),
        ],
    },
}
# Requests per window per API key, reads and writes counted apart (0 = no
# limit); counted in the Django cache (Redis in production), fixed windows.
API_RATE_LIMIT_WINDOW = env.int("API_RATE_LIMIT_WINDOW", default=1)
API_RATE_LIMIT_READ = env.int("API_RATE_LIMIT_READ", default=100)
API_RATE_LIMIT_WRITE = env.int("API_RATE_LIMIT_WRITE", default=50)
# An Idempotency-Key's stored response is replayed for this long (seconds); a
# request that holds one longer than the lock timeout is presumed dead.
IDEMPOTENCY_KEY_TTL = env.int("IDEMPOTENCY_KEY_TTL", default=24 * 3600)
IDEMPOTENCY_LOCK_TIMEOUT = env.int("IDEMPOTENCY_LOCK_TIMEOUT", default=300)

# --- Security -------------------------------------------------------------
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# --- Logging: JSON lines with request id and tenant id --------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOG_FORMAT = env.str("LOG_FORMAT", default="console" if DEBUG else "json")
# Django calls LOGGING_CONFIG(LOGGING) at start-up; ours sets up structlog.
LOGGING_CONFIG = "core.logging.configure"
LOGGING = {"level": LOG_LEVEL, "format": LOG_FORMAT}
