"""What the report endpoints take and give: a scope and a period in; the figures, their
change and the breakdowns (lists ready for charts) out."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from api.numbers import WholeNumber
from api.text import Text
from points.errors import InvalidInput
from points.reports import DECIMALS, FIGURES, RATIOS, SCOPE_PATTERN, SortOrder, parse_scope


class ScopeText(Text):
    """``org:{id}``, ``branch:{id}`` or ``dept:{id}``, read into a Scope."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parse_scope(text)
        except InvalidInput as refused:
            raise ValidationError(refused.message) from None


FORMATS = ["json", "xlsx", "csv"]


class PeriodArgs(Schema):
    scope = ScopeText(
        required=True,
        metadata={
            "description": "org:{place id}, branch:{branch id} or dept:{department id}",
            "pattern": SCOPE_PATTERN,
            "example": "org:1",
        },
    )
    # ?from= is a Python keyword: the fields are named apart from the query string.
    first = fields.Date(data_key="from", metadata={"description": "first day; the quarter's"})
    last = fields.Date(data_key="to", metadata={"description": "last day, included"})
    format = Text(
        load_default="json",
        validate=validate.OneOf(FORMATS),
        metadata={"description": "xlsx: the workbook; csv: the main table"},
    )


class LeagueArgs(PeriodArgs):
    sort = Text(
        load_default="volunteer_hours",
        validate=validate.OneOf(list(FIGURES)),
        metadata={"description": "the figure the rows are ordered by"},
    )
    order = Text(load_default=SortOrder.DESC.value, validate=validate.OneOf(list(SortOrder)))


def _figure_field(name: str) -> fields.Field[Any]:
    if name in RATIOS or name in DECIMALS:
        return fields.Float(allow_none=True, metadata={"description": FIGURES[name]})
    return WholeNumber(allow_none=True, metadata={"description": FIGURES[name]})


# Every figure by name; null where the scope has nothing to count it over (a
# department's own branches post no tasks) or a rate over nothing.
FiguresSchema = Schema.from_dict(
    {name: _figure_field(name) for name in FIGURES}, name="ReportFigures"
)


class TaskCountSchema(Schema):
    category = Text()
    type = Text()
    label = Text(required=True)
    published = WholeNumber(required=True)
    completed = WholeNumber(required=True)
    # By type only: residents' ratings of the type's work (群众来评判).
    work_ratings = WholeNumber()
    average_work_rating = fields.Float(allow_none=True)


class LevelCountSchema(Schema):
    level = Text(required=True, metadata={"description": "grid, community, street; '' unset"})
    label = Text(required=True)
    received = WholeNumber(required=True)
    closed = WholeNumber(required=True)
    closed_on_time = WholeNumber(required=True)


class ScoreCountSchema(Schema):
    score = WholeNumber(required=True)
    count = WholeNumber(required=True)


class TopVolunteerSchema(Schema):
    user_id = WholeNumber(required=True)
    name = Text(required=True)
    hours = fields.Float(required=True)
    participations = WholeNumber(required=True)


class SectionSchema(Schema):
    key = Text(required=True, metadata={"description": "the scope, or pairing:{id}"})
    name = Text(required=True)
    first_day = fields.Date(attribute="span.first", data_key="from", required=True)
    last_day = fields.Date(attribute="span.last", data_key="to", required=True)
    previous_from = fields.Date(attribute="previous_span.first", required=True)
    previous_to = fields.Date(attribute="previous_span.last", required=True)
    figures = fields.Nested(FiguresSchema, required=True)
    previous = fields.Nested(FiguresSchema, required=True)
    change = fields.Nested(FiguresSchema, required=True)
    tasks_by_category = fields.List(
        fields.Nested(TaskCountSchema), attribute="counted.tasks_by_category", required=True
    )
    tasks_by_type = fields.List(
        fields.Nested(TaskCountSchema), attribute="counted.tasks_by_type", required=True
    )
    demands_by_level = fields.List(
        fields.Nested(LevelCountSchema), attribute="counted.demands_by_level", required=True
    )
    rating_distribution = fields.List(
        fields.Nested(ScoreCountSchema), attribute="counted.rating_distribution", required=True
    )
    work_rating_distribution = fields.List(
        fields.Nested(ScoreCountSchema),
        attribute="counted.work_rating_distribution",
        required=True,
        metadata={"description": "residents' ratings of task work (群众来评判)"},
    )
    top_volunteers = fields.List(fields.Nested(TopVolunteerSchema), required=True)


class SummarySchema(Schema):
    scope = Text(required=True)
    name = Text(required=True)
    title = Text(required=True)
    first_day = fields.Date(attribute="span.first", data_key="from", required=True)
    last_day = fields.Date(attribute="span.last", data_key="to", required=True)
    own = fields.Nested(SectionSchema, required=True)
    paired = fields.List(
        fields.Nested(SectionSchema),
        required=True,
        metadata={"description": "a department's paired communities (百部联百村), each apart"},
    )


class LeagueRowSchema(Schema):
    id = WholeNumber(attribute="key", required=True, metadata={"description": "place or branch"})
    name = Text(required=True)
    figures = fields.Nested(FiguresSchema, required=True)


class LeagueSchema(Schema):
    scope = Text(required=True)
    name = Text(required=True)
    title = Text(required=True)
    first_day = fields.Date(attribute="span.first", data_key="from", required=True)
    last_day = fields.Date(attribute="span.last", data_key="to", required=True)
    sort = Text(required=True)
    order = Text(required=True)
    rows = fields.List(fields.Nested(LeagueRowSchema), required=True)
