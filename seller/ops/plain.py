"""A DRF serializer's output for plain dicts, without DRF's per-field machinery.

`GET /ai-seller/metrics` gives a row of some 30 figures for each day: a year of them through
nested DRF serializers took about a second and a half (bench/metrics.py). `writer(serializer)`
walks the serializer's fields once and returns a function that builds the same dict, with each
leaf field's own `to_representation`, so the JSON and the OpenAPI schema stay the serializer's.
"""

from collections.abc import Callable

from rest_framework import serializers


def writer(serializer: serializers.Serializer) -> Callable[[dict], dict]:
    """A function giving `type(serializer)(row).data` for a dict `row`, in the same key order."""
    plan = []
    for name, field in serializer.fields.items():
        if field.write_only:
            continue
        if field.source == "*" or "." in field.source:
            raise TypeError(f"{name}: only plain keys are supported, not source={field.source!r}")
        if isinstance(field, serializers.ListSerializer):
            raise TypeError(f"{name}: nested lists are not supported")
        convert = writer(field) if isinstance(field, serializers.Serializer) else field.to_representation
        plan.append((name, field.source, convert, field.allow_null, field.required))

    def write(row: dict) -> dict:
        written = {}
        for name, source, convert, allow_null, required in plan:
            if source not in row:  # as DRF's Field.get_attribute does
                if allow_null:
                    written[name] = None
                elif required:
                    raise KeyError(f"{source!r} is missing")
                continue
            value = row[source]
            written[name] = None if value is None else convert(value)
        return written

    return write
