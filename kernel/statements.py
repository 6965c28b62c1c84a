"""Reads whose SQL the ORM writes once per database and shape; each run binds the request's values.

Building and compiling a queryset costs 3,000 to 4,000 Python calls (0.3 to 0.6 ms) per query,
most of a hot read's time once authentication and DRF are cheap (docs/load.md). The reads every
request of a kind makes, the project scoping and the task lookup, differ from request to request
only in a few values (a user id, a project id, a task id). A ``Statement`` asks the ORM for such a
read's SQL once, with stand-in values in those places, and runs it with the real ones:

    by_pk = Statement(Task, lambda shape, task_id: Task.objects.filter(pk=task_id), task_id=uuid.UUID)
    task = by_pk.first(shape=(), task_id=some_id)

A page of a listing is the same statement with its limit and offset bound as parameters
(``all(page=(limit, offset))``), and ``count`` counts the rows ``all`` reads, so a listing's count
and page are compiled once too, whatever page is asked.

The ORM still writes the SQL and the rows become instances as Django's ``ModelIterable`` makes
them (``from_db``, the compiler's converters, ``select_related`` populators, annotations), so
the queryset stays the one place of the rule it encodes. ``shape`` is whatever else the queryset
depends on (a superuser sees everything, say) and is part of the cache key. To find where the
values go, the queryset is compiled twice, with two sets of stand-ins: the SQL must be the same,
and every parameter that differs must be one stand-in's value; anything else (a value that
changed the SQL, or reached it transformed) refuses to compile rather than guess, so a change of
the queryset that breaks the assumption fails loudly, and tests compare statements with the ORM.

It reads the compiled query's ``select``, ``klass_info`` and ``annotation_col_map``, as Django's
own iterables do; those are the compiler's internals and may change with Django.
"""

import uuid
from dataclasses import dataclass

from django.db import connections, router
from django.db.models.query import get_related_populators

from kernel.db import planned_cursor

_KINDS = (int, str, uuid.UUID)


def _stand_in(kind, which: int, index: int):
    """Stand-in number ``which`` (0 or 1) of the slot at ``index``: unlike any real value, and
    unlike every other slot's, so each parameter names its slot."""
    if kind is int:
        return (7_654_321_987_654_321, 7_654_321_987_000_321)[which] + index
    if kind is str:
        return f"\x1fd2d-stand-in-{'ab'[which]}{index}\x1f"
    return uuid.UUID(int=(0x5EA7ED00 << 96) + (which << 32) + index)


# How a value may reach the parameters: as it is, or as the backend stores it (a UUID as text on SQLite).
_FORMS = (lambda value: value, lambda value: value.hex, str)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple  # constants, with (slot name, form) where a value goes
    model: type
    model_columns: slice
    field_names: tuple
    converters: tuple
    populators: tuple
    annotations: tuple  # (name, column)
    columns: int


class Statement:
    """A read of ``model`` compiled once per database and shape (see the module's docstring)."""

    def __init__(self, model, build, **slots: type):
        unknown = [kind for kind in slots.values() if kind not in _KINDS]
        if unknown:
            raise TypeError(f"a statement's values are int, str or uuid.UUID, not {unknown}")
        self.model, self.build, self.slots = model, build, slots
        self._compiled: dict = {}

    def all(self, *, shape=(), using: str | None = None, page: tuple[int, int] | None = None, **values) -> list:
        """The rows for these values; ValueError when a value is not of its slot's type. ``page`` is
        (limit, offset), bound as parameters, so one statement serves every page."""
        compiled, params, connection = self._prepare(shape, using, values, "page" if page else "rows")
        if page:
            limit, offset = page
            params += [int(limit), int(offset)]
        with planned_cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        return [_instance(compiled, connection.alias, connection, row) for row in rows]

    def count(self, *, shape=(), using: str | None = None, **values) -> int:
        """How many rows ``all`` would answer, without a page (as ``QuerySet.count``)."""
        compiled, params, connection = self._prepare(shape, using, values, "count")
        with planned_cursor(connection) as cursor:
            cursor.execute(compiled.sql, params)
            return cursor.fetchone()[0]

    def _prepare(self, shape, using, values, read: str):
        if set(values) != set(self.slots):
            raise TypeError(f"a statement takes {sorted(self.slots)}, got {sorted(values)}")
        values = {name: _cast(self.slots[name], value) for name, value in values.items()}
        using = using or router.db_for_read(self.model)
        compiled = self._compiled.get((shape, using, read))
        if compiled is None:
            compiled = self._compiled[(shape, using, read)] = self._compile(shape, using, read)
        params = [_FORMS[part[1]](values[part[0]]) if isinstance(part, tuple) else part for part in compiled.params]
        return compiled, params, connections[using]

    def first(self, **kwargs):
        found = self.all(**kwargs)
        return found[0] if found else None

    def _compile(self, shape, using: str, read: str = "rows") -> _Compiled:
        slots = list(self.slots.items())
        first = self.build(shape, **{name: _stand_in(kind, 0, index) for index, (name, kind) in enumerate(slots)})
        second = self.build(shape, **{name: _stand_in(kind, 1, index) for index, (name, kind) in enumerate(slots)})
        if first.model is not self.model:
            raise TypeError(f"the statement reads {self.model.__name__}, its queryset {first.model.__name__}")
        if first.query.is_sliced or second.query.is_sliced:
            raise RuntimeError("a statement's queryset is not sliced: its page is all(page=(limit, offset))")
        if read == "count":  # as QuerySet.count: the rows' keys counted, their order irrelevant
            first, second = first.order_by().values("pk"), second.order_by().values("pk")
        compiler = first.query.get_compiler(using)
        sql, params = compiler.as_sql()
        other_sql, other_params = second.query.get_compiler(using).as_sql()
        if read == "count":
            sql, other_sql = (f"SELECT COUNT(*) FROM ({one}) counted" for one in (sql, other_sql))
        elif read == "page":  # LIMIT n OFFSET m: SQLite, PostgreSQL, MariaDB and MySQL alike
            sql, other_sql = (f"{one} LIMIT %s OFFSET %s" for one in (sql, other_sql))
        if sql != other_sql or len(params) != len(other_params):
            raise RuntimeError(f"{sql!r}: its SQL depends on the values, so it cannot be compiled once")
        template = []
        for one, two in zip(params, other_params):
            slot = next(((name, form) for index, (name, kind) in enumerate(slots) for form in range(len(_FORMS))
                         if _form(kind, index, 0, form) == one and _form(kind, index, 1, form) == two), None)
            if slot is None and one != two:
                raise RuntimeError(f"{sql!r}: parameter {one!r} follows the values in a way it cannot replay")
            template.append(slot if slot is not None else one)
        if read == "count":
            return _Compiled(sql=sql, params=tuple(template), model=self.model, model_columns=slice(0, 0),
                             field_names=(), converters=(), populators=(), annotations=(), columns=1)
        fields = compiler.klass_info["select_fields"]
        model_columns = slice(fields[0], fields[-1] + 1)
        expressions = [column for column, _, _ in compiler.select]
        return _Compiled(
            sql=sql,
            params=tuple(template),
            model=compiler.klass_info["model"],
            model_columns=model_columns,
            field_names=tuple(column.target.attname for column in expressions[model_columns]),
            converters=tuple((position, functions, expression) for position, (functions, expression)
                             in compiler.get_converters(expressions).items()),
            populators=tuple(get_related_populators(compiler.klass_info, compiler.select, using, first._fetch_mode)),
            annotations=tuple(compiler.annotation_col_map.items()),
            columns=compiler.col_count,
        )


def _instance(compiled: _Compiled, using: str, connection, row):
    """One row as ModelIterable makes it: converted values, the instance, its related ones, annotations."""
    row = list(row[: compiled.columns])
    for position, functions, expression in compiled.converters:  # as SQLCompiler.apply_converters
        for convert in functions:
            row[position] = convert(row[position], expression, connection)
    instance = compiled.model.from_db(using, compiled.field_names, row[compiled.model_columns])
    for populator in compiled.populators:
        populator.populate(row, instance)
    for name, column in compiled.annotations:
        setattr(instance, name, row[column])
    return instance


def _cast(kind, value):
    if isinstance(value, kind) and not isinstance(value, bool):
        return value
    return kind(str(value)) if kind is uuid.UUID else kind(value)


def _form(kind, index: int, which: int, form: int):
    try:
        return _FORMS[form](_stand_in(kind, which, index))
    except AttributeError:  # .hex of an int or a str: not a form of it
        return _NOT_A_FORM


_NOT_A_FORM = object()


def attach(instance, relation: str, rows: list) -> None:
    """Give ``instance`` the ``rows`` a statement read as its prefetched reverse foreign key
    ``relation``, as ``prefetch_related`` does: ``instance.<relation>.all()`` then answers them
    without a query."""
    manager = getattr(instance, relation)
    queryset = manager.get_queryset()
    queryset._result_cache = list(rows)
    queryset._prefetch_done = True
    if not hasattr(instance, "_prefetched_objects_cache"):
        instance._prefetched_objects_cache = {}
    instance._prefetched_objects_cache[manager.field.remote_field.cache_name] = queryset
