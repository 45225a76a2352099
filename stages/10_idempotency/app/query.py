"""A small, explicit query language for collections: ?sort=, ?fields= and field__op=value filters.

Everything a client may sort, select or filter on is an allow-list. Anything else, an unknown
operator or a value of the wrong type is a 400 that names the parameter: never silently ignored.
"""

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, true
from werkzeug.datastructures import MultiDict

from app.errors import InvalidQuery

MAX_IN_VALUES = 50


def integer(value: str) -> int:
    if not re.fullmatch(r"-?\d{1,9}", value):  # fits the database's integer column
        raise ValueError
    return int(value)


def text(value: str) -> str:
    if len(value) > 200:
        raise ValueError
    return value


TYPE_NAMES = {integer: "an integer", date.fromisoformat: "a date (YYYY-MM-DD)", text: "a text"}


@dataclass(frozen=True)
class Field:
    column: ColumnElement
    parse: Callable[[str], object] = text


OPERATORS: dict[str, Callable] = {
    "eq": lambda column, value: column == value,
    "ne": lambda column, value: column != value,
    "lt": lambda column, value: column < value,
    "le": lambda column, value: column <= value,
    "gt": lambda column, value: column > value,
    "ge": lambda column, value: column >= value,
    # "contains" matches in which % and _ are plain characters (autoescape), as in search
    "like": lambda column, value: column.contains(value, autoescape=True),
    "ilike": lambda column, value: column.icontains(value, autoescape=True),
    "in": lambda column, values: column.in_(values),
}


def parse_filters(args: MultiDict, fields: dict[str, Field], other: Iterable[str]) -> ColumnElement:
    """The `field__op=value` parameters as one SQL condition; `other` are the parameters
    the endpoint reads itself (page, sort...)."""
    conditions, errors = [], {}
    for name, values in args.lists():
        if name in other:
            continue
        field_name, _, op = name.rpartition("__")
        field = fields.get(field_name)
        if field is None:
            errors[name] = [
                f"Unknown parameter. Filters are field__op=value on: {', '.join(fields)}."
            ]
        elif op not in OPERATORS:
            errors[name] = [f"Unknown operator {op!r}. Operators: {', '.join(OPERATORS)}."]
        elif op in ("like", "ilike") and field.parse is not text:
            errors[name] = [f"{op!r} only works on text fields."]
        elif op == "in" and any(value.count(",") >= MAX_IN_VALUES for value in values):
            errors[name] = [f"At most {MAX_IN_VALUES} comma-separated values."]
        else:
            try:
                for value in values:  # a repeated parameter must match every value
                    parsed = (
                        [field.parse(v) for v in value.split(",")]
                        if op == "in"
                        else field.parse(value)
                    )
                    conditions.append(OPERATORS[op](field.column, parsed))
            except ValueError:
                errors[name] = [f"Not {TYPE_NAMES[field.parse]}: {value!r}."]
    if errors:
        raise InvalidQuery(errors)
    return and_(true(), *conditions)


def parse_sort(value: str | None, fields: dict[str, Field]) -> list[ColumnElement]:
    """`?sort=-publish_date,title`: a minus sign sorts that field in descending order."""
    order = []
    for item in (value or "").split(",") if value else []:
        name = item.removeprefix("-")
        if name not in fields:
            raise InvalidQuery(
                {"sort": [f"Cannot sort on {name!r}. Sortable: {', '.join(fields)}."]}
            )
        column = fields[name].column
        order.append(column.desc() if item.startswith("-") else column.asc())
    return order


def parse_fields(value: str | None, allowed: Iterable[str]) -> frozenset[str] | None:
    """`?fields=title,author`: only these fields (and always `id`) in each item."""
    if value is None:
        return None
    names = frozenset(value.split(","))
    unknown = names - set(allowed)
    if unknown:
        raise InvalidQuery(
            {
                "fields": [
                    f"Unknown fields: {', '.join(sorted(unknown))}. Fields: {', '.join(allowed)}."
                ]
            }
        )
    return names | {"id"}
