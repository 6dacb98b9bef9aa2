"""Request and response fields: strict bodies (unknown fields and wrong JSON types refused),
``Ref`` (another object by public id, resolved within the tenant), instants, metadata, ids."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers
from rest_framework.renderers import BaseRenderer

from core.errors import NotFound

# Public ids: a short prefix, an underscore, lowercase letters and digits.
PUBLIC_ID = re.compile(r"^[a-z]{1,12}_[a-z0-9]{1,64}$")


# --- request bodies --------------------------------------------------------------


def _json_type_error(field: serializers.Field[Any, Any, Any, Any], value: Any) -> str | None:
    """What is wrong with ``value``'s JSON type for ``field``, or None.

    DRF coerces (``12`` becomes ``"12"``, ``"true"`` becomes ``True``); the API
    takes exactly the types its schema documents, so clients cannot come to
    depend on a coercion.
    """
    if value is None:
        return None  # allow_null decides
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Expected true or false."
    if isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "Expected a whole number."
    if isinstance(field, serializers.DecimalField) and not field.coerce_to_string:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "Expected a number."
    if isinstance(field, serializers.CharField | serializers.ChoiceField):
        return None if isinstance(value, str) else "Expected a string."
    if isinstance(field, serializers.DateTimeField):
        return None if isinstance(value, str) else "Expected an ISO 8601 time as a string."
    if isinstance(field, serializers.ListField | serializers.ListSerializer):
        return None if isinstance(value, list) else "Expected a list."
    return None


class StrictSerializer(serializers.Serializer[Any]):
    """A request body: unknown fields are an error (a typo must not pass silently),
    and every value must have the JSON type the schema documents."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, Mapping):
            writable = {name: f for name, f in self.fields.items() if not f.read_only}
            unknown = sorted(str(k) for k in data if k not in writable)
            if unknown:
                raise serializers.ValidationError(
                    {unknown[0]: [f"Unknown parameter: {unknown[0]}."]}, code="unknown_parameter"
                )
            for name, field in writable.items():
                if name in data and (problem := _json_type_error(field, data[name])):
                    raise serializers.ValidationError({name: [problem]}, code="invalid_type")
        return super().to_internal_value(data)


def api_id(value: Any) -> bool:
    return isinstance(value, str) and bool(PUBLIC_ID.match(value))


class Ref(serializers.CharField):
    """Another object, named by its public id and found within the tenant.

    ``queryset`` is called with the tenant; an unknown, malformed or other
    tenant's id raises ``NotFound`` (404) naming the parameter.
    """

    def __init__(
        self,
        *,
        queryset: Callable[[Any], QuerySet[Any]],
        what: str,
        **kwargs: Any,
    ) -> None:
        self.queryset_for = queryset
        self.what = what
        kwargs.setdefault("max_length", 80)
        super().__init__(**kwargs)

    def run_validation(self, data: Any = serializers.empty) -> Any:
        value = super().run_validation(data)  # a string of a sane length, or empty
        if value in (None, "", serializers.empty):
            return value
        request = self.context["request"]
        found = None
        if api_id(value):
            found = self.queryset_for(request.tenant).filter(public_id=value).first()
        if found is None:
            raise NotFound(f"No such {self.what}: '{value}'", param=self.field_name)
        return found


EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2200, 1, 1, tzinfo=UTC)


class InstantField(serializers.DateTimeField):
    """An ISO 8601 time between 1970 and 2200: far enough for any billing, near
    enough that adding periods and trials to it can never overflow."""

    def to_internal_value(self, value: Any) -> datetime:
        parsed = super().to_internal_value(value)
        if not EARLIEST <= parsed < LATEST:
            raise serializers.ValidationError(
                "Expected a time from 1970 to 2199.", code="out_of_range"
            )
        return parsed


def validate_metadata(value: Any) -> dict[str, str]:
    """Up to 50 string keys (≤ 40 chars) with string values (≤ 500 chars)."""
    if not isinstance(value, dict):
        raise serializers.ValidationError("metadata must be an object.", code="invalid")
    if len(value) > 50:
        raise serializers.ValidationError("metadata holds at most 50 keys.", code="invalid")
    for key, item in value.items():
        if not isinstance(key, str) or not 0 < len(key) <= 40 or "\x00" in key:
            raise serializers.ValidationError(
                "metadata keys are strings of 1 to 40 characters.", code="invalid"
            )
        if not isinstance(item, str) or len(item) > 500 or "\x00" in item:
            raise serializers.ValidationError(
                "metadata values are strings of at most 500 characters.", code="invalid"
            )
    return value


class MetadataField(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault(
            "help_text",
            "Your own key-value pairs: up to 50 keys of at most 40 characters, "
            "string values of at most 500.",
        )
        super().__init__(child=serializers.CharField(allow_blank=True), **kwargs)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        return validate_metadata(data)


# --- responses ----------------------------------------------------------------------


class ObjectField(serializers.Field[Any, Any, Any, Any]):
    """The constant ``object`` of a representation (``"customer"``, ``"list"``…)."""

    def __init__(self, value: str, **kwargs: Any) -> None:
        self.value = value
        kwargs.update(read_only=True, source="*")
        kwargs.setdefault("help_text", f'String representing the object\'s type: "{value}".')
        super().__init__(**kwargs)

    def to_representation(self, value: Any) -> str:
        return self.value


class PublicIdOf(serializers.CharField):
    """A related object's public id (``source="customer.public_id"``), or null."""

    def __init__(self, source: str, **kwargs: Any) -> None:
        kwargs.setdefault("allow_null", True)
        super().__init__(source=source, read_only=True, **kwargs)

    def get_attribute(self, instance: Any) -> Any:
        try:
            return super().get_attribute(instance)
        except (AttributeError, KeyError):
            return None


class DeletedSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The id of the deleted object.")
    object = serializers.CharField(help_text="The type of the deleted object.")
    deleted = serializers.BooleanField(help_text="Always true.")


class PdfRenderer(BaseRenderer):
    media_type = "application/pdf"
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(
        self, data: Any, accepted_media_type: Any = None, renderer_context: Any = None
    ) -> Any:
        if isinstance(data, bytes):
            return data
        import json

        return json.dumps(data).encode()
