"""What every API resource shares.

- the one error shape: ``{"error": {"type", "code", "message", "param"}}``;
- ``ApiViewSet``: lookups by public id (``cus_…``), the acting API key, list
  filters declared as data (documented in the schema from the same data);
- ``StrictSerializer`` for request bodies: unknown fields are refused;
- ``Ref``: a body field naming another object by public id, resolved within
  the tenant (another tenant's id is a 404, exactly like an unknown one);
- the OpenAPI conventions (operation ids, error responses, ``Idempotency-Key``).
"""

# Everything resources import, from the module that holds it (settings name these paths too).
from core.api.errors import api_not_found, error_body, exception_handler
from core.api.fields import (
    DeletedSerializer,
    InstantField,
    MetadataField,
    ObjectField,
    PdfRenderer,
    PublicIdOf,
    Ref,
    StrictSerializer,
    api_id,
)
from core.api.filters import CREATED_FILTERS, ListFilter, apply_list_filters
from core.api.schema import ApiSchema, schema_postprocess
from core.api.viewsets import ApiViewSet, input_of

__all__ = [
    "CREATED_FILTERS",
    "ApiSchema",
    "ApiViewSet",
    "DeletedSerializer",
    "InstantField",
    "ListFilter",
    "MetadataField",
    "ObjectField",
    "PdfRenderer",
    "PublicIdOf",
    "Ref",
    "StrictSerializer",
    "api_id",
    "api_not_found",
    "apply_list_filters",
    "error_body",
    "exception_handler",
    "input_of",
    "schema_postprocess",
]
