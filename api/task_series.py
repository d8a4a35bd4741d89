"""Recurring tasks (周期任务): staff post, read, edit and end a series; members sign up
for the whole series (each occurrence is an ordinary task, under /tasks)."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, fields, post_load, pre_dump, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, offset_page, page, page_schema
from api.participations import ParticipationSchema
from api.tasks import TemplateChangesSchema, choices
from api.text import MultilineText, Text
from points.recurrence import LAST_DATE, MAX_COUNT, MAX_INTERVAL_DAYS, Frequency, SeriesStatus
from points.recurrence import SeriesSignupStatus as SignupStatus
from points.rules import Category, TaskType, WorkUnit
from points.tasks import Audience, CheckinMode
from service.db import utcnow
from service.tasks.models import TaskSeries
from service.tasks.series import NewSeries, SeriesView, create_series, get_series, list_series
from service.tasks.series_editing import SeriesEdit, SeriesOutcome, edit_series, end_series
from service.tasks.series_signups import (
    SeriesSignupOutcome,
    join_series,
    leave_series,
    my_series_signups,
)

blp = Blueprint(
    "task_series",
    __name__,
    url_prefix="/api/v1",
    description="Recurring tasks (周期任务) and signing up for a whole series",
)


def _weekdays(**options: Any) -> fields.List[Any]:
    return fields.List(
        WholeNumber(validate=validate.Range(min=0, max=6)),
        validate=validate.Length(max=7),
        metadata={"description": "weekly: 0 Monday … 6 Sunday"},
        **options,
    )


def _local_time(**options: Any) -> fields.Time:
    return fields.Time(
        format="%H:%M",
        metadata={
            "description": "local (Beijing) time, HH:MM",
            "format": "time",
            "example": "19:00",
        },
        **options,
    )


def _duration(**options: Any) -> WholeNumber:
    return WholeNumber(
        validate=validate.Range(min=1, max=24 * 60), metadata={"description": "minutes"}, **options
    )


class OccurrenceSchema(Schema):
    """An occurrence as its series lists it; the whole task is at /tasks/{id}."""

    id = WholeNumber(required=True)
    occurrence_date = fields.Date(required=True, metadata={"description": "its local day"})
    starts_at = fields.DateTime(required=True)
    ends_at = fields.DateTime(required=True)
    status = Text(required=True)
    capacity = WholeNumber(required=True)
    signed_up_count = WholeNumber(required=True)


class SeriesSchema(Schema):
    id = WholeNumber(dump_only=True)
    title = Text(required=True, validate=validate.Length(min=2, max=100))
    description = MultilineText(load_default="", validate=validate.Length(max=4000))
    category = Text(required=True, validate=choices(Category))
    type = Text(required=True, validate=choices(TaskType))
    org_id = WholeNumber(attribute="place_id", required=True, validate=validate.Range(min=1))
    address = Text(load_default="", validate=validate.Length(max=200))
    lat = fields.Float(required=True, validate=validate.Range(min=-90, max=90))
    lng = fields.Float(required=True, validate=validate.Range(min=-180, max=180))
    radius_m = WholeNumber(required=True, validate=validate.Range(min=10, max=5000))
    capacity = WholeNumber(required=True, validate=validate.Range(min=1, max=10_000))
    audience = Text(load_default=Audience.EVERYONE.value, validate=choices(Audience))
    checkin_mode = Text(required=True, validate=choices(CheckinMode))
    work_unit = Text(required=True, validate=choices(WorkUnit))
    frequency = Text(required=True, validate=choices(Frequency))
    weekdays = _weekdays(load_default=list)
    interval_days = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_INTERVAL_DAYS),
        metadata={"description": "every_n_days: the N"},
    )
    first_date = fields.Date(
        required=True,
        validate=validate.Range(max=LAST_DATE),
        metadata={"description": "local day of the first"},
    )
    start_time = _local_time(required=True)
    duration_minutes = _duration(required=True)
    until = fields.Date(
        load_default=None,
        allow_none=True,
        validate=validate.Range(max=LAST_DATE),
        metadata={"description": "last local day, inclusive"},
    )
    count = WholeNumber(
        load_default=None,
        allow_none=True,
        validate=validate.Range(min=1, max=MAX_COUNT),
        metadata={"description": "or: how many occurrences in all"},
    )
    status = Text(dump_only=True, metadata={"enum": [s.value for s in SeriesStatus]})
    end_reason = Text(dump_only=True, allow_none=True)
    ended_at = fields.DateTime(dump_only=True, allow_none=True)
    created_at = fields.DateTime(dump_only=True)
    version = WholeNumber(dump_only=True, metadata={"description": "send it back with an edit"})
    updated_at = fields.DateTime(dump_only=True, allow_none=True)
    upcoming = fields.List(
        fields.Nested(OccurrenceSchema),
        dump_only=True,
        metadata={"description": "occurrences posted and not yet over, soonest first"},
    )

    @pre_dump
    def flatten(self, view: SeriesView | TaskSeries, **_: Any) -> Any:
        if isinstance(view, TaskSeries):
            return view
        return _Flat(view.series, upcoming=view.upcoming)

    @post_load
    def to_new_series(self, data: dict[str, Any], **_: Any) -> NewSeries:
        return NewSeries(
            **{
                **data,
                "category": Category(data["category"]),
                "type": TaskType(data["type"]),
                "audience": Audience(data["audience"]),
                "checkin_mode": CheckinMode(data["checkin_mode"]),
                "work_unit": WorkUnit(data["work_unit"]),
                "frequency": Frequency(data["frequency"]),
                "weekdays": tuple(data["weekdays"]),
            }
        )


class _Flat:
    """A series with extra attributes to dump beside its columns."""

    def __init__(self, series: TaskSeries, **extra: Any) -> None:
        self._series = series
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._series, name)


class SeriesEditSchema(TemplateChangesSchema):
    """An edit: the version you saw and only the fields to change. The occurrences to
    come that nobody checked in to change with it, as far as a task edit may."""

    version = WholeNumber(required=True, validate=validate.Range(min=1))
    note = Text(
        load_default="",
        validate=validate.Length(max=200),
        metadata={"description": "for those signed up to the occurrences it changes"},
    )
    weekdays = _weekdays()
    interval_days = WholeNumber(validate=validate.Range(min=1, max=MAX_INTERVAL_DAYS))
    start_time = _local_time()
    duration_minutes = _duration()
    until = fields.Date(allow_none=True, validate=validate.Range(max=LAST_DATE))
    count = WholeNumber(allow_none=True, validate=validate.Range(min=1, max=MAX_COUNT))

    @post_load
    def to_edit(self, data: dict[str, Any], **_: Any) -> SeriesEdit:
        version, note = data.pop("version"), data.pop("note")
        return SeriesEdit(version=version, changes=data, note=note)


class KeptSchema(Schema):
    task_id = WholeNumber(required=True)
    occurrence_date = fields.Date(required=True)
    fields_kept = fields.List(
        Text(),
        attribute="fields",
        data_key="fields",
        required=True,
        metadata={"description": "fields it kept as they were (all, if under way)"},
    )
    reason = Text(
        required=True,
        metadata={"enum": ["task_has_signups", "capacity_below_signups", "task_under_way"]},
    )


class SeriesOutcomeSchema(SeriesSchema):
    updated_occurrences = fields.List(WholeNumber(), dump_only=True)
    kept_occurrences = fields.List(
        fields.Nested(KeptSchema),
        dump_only=True,
        metadata={"description": "occurrences left (partly) as they were, and why"},
    )
    cancelled_occurrences = fields.List(WholeNumber(), dump_only=True)

    @pre_dump
    def flatten(self, outcome: Any, **_: Any) -> Any:
        assert isinstance(outcome, SeriesOutcome)
        return _Flat(
            outcome.view.series,
            upcoming=outcome.view.upcoming,
            updated_occurrences=outcome.updated,
            kept_occurrences=outcome.kept,
            cancelled_occurrences=outcome.cancelled,
        )


class SeriesListArgs(PageArgs):
    status = Text(validate=choices(SeriesStatus))
    org_id = WholeNumber(validate=validate.Range(min=1))


class EndSchema(Schema):
    reason = Text(required=True, validate=validate.Length(min=2, max=500))


class SkippedSchema(Schema):
    task_id = WholeNumber(required=True)
    reason = Text(required=True, metadata={"description": "why not: an error's code"})


class SeriesSignupSchema(Schema):
    id = WholeNumber(required=True)
    series_id = WholeNumber(required=True)
    user_id = WholeNumber(required=True)
    status = Text(required=True, metadata={"enum": [s.value for s in SignupStatus]})
    joined_at = fields.DateTime(required=True)
    left_at = fields.DateTime(allow_none=True)


class SeriesSignupOutcomeSchema(SeriesSignupSchema):
    participations = fields.List(
        fields.Nested(ParticipationSchema),
        metadata={"description": "joined: your parts in the occurrences posted; left: cancelled"},
    )
    skipped = fields.List(fields.Nested(SkippedSchema))

    @pre_dump
    def flatten(self, outcome: Any, **_: Any) -> Any:
        assert isinstance(outcome, SeriesSignupOutcome)
        return _Flat(
            outcome.signup,  # type: ignore[arg-type]
            participations=outcome.participations,
            skipped=outcome.skipped,
        )


@blp.route("/task-series")
class AllSeries(MethodView):
    @blp.arguments(SeriesListArgs, location="query")
    @blp.response(200, page_schema(SeriesSchema, "SeriesPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The series at places you manage, newest first."""
        limit, offset = args["limit"], int_cursor(args["cursor"])
        rows = list_series(
            extensions.session(),
            current_actor(),
            utcnow(),
            place_id=args.get("org_id"),
            status=SeriesStatus(args["status"]) if "status" in args else None,
            limit=limit + 1,
            offset=offset,
        )
        return offset_page(rows, limit, offset)

    @blp.arguments(SeriesSchema)
    @blp.response(201, SeriesSchema)
    def post(self, spec: NewSeries) -> Any:
        """Post a series at a place you manage: weekly on `weekdays`, or every
        `interval_days`, from `first_date` at the local `start_time`, ending on `until`
        or after `count` occurrences (or when ended). Occurrences due within 14 days are
        published at once; `lianxin tasks generate` posts the rest as they come near."""
        return create_series(extensions.unit_of_work(), current_actor(), spec, utcnow())


@blp.route("/task-series/<int:series_id>")
class OneSeries(MethodView):
    @blp.response(200, SeriesSchema)
    def get(self, series_id: int) -> Any:
        return get_series(extensions.session(), current_actor(), series_id, utcnow())

    @blp.arguments(SeriesEditSchema)
    @blp.response(200, SeriesOutcomeSchema)
    def patch(self, edit: SeriesEdit, series_id: int) -> Any:
        """Change the series and its occurrences to come that have not started and
        nobody checked in to, by a task edit's rules: one someone holds a seat on keeps
        its place and a narrower audience (and capacity above the seats taken), and the
        answer lists it under `kept_occurrences`. A day the new recurrence drops is
        cancelled. Past occurrences and those under way are never touched."""
        return edit_series(extensions.unit_of_work(), current_actor(), series_id, edit, utcnow())


@blp.route("/task-series/<int:series_id>/end")
class EndSeries(MethodView):
    @blp.arguments(EndSchema)
    @blp.response(200, SeriesOutcomeSchema)
    def post(self, body: dict[str, Any], series_id: int) -> Any:
        """End the series, saying why: nothing more is posted, and its occurrences to
        come are cancelled with the reason (those taking part are told)."""
        return end_series(
            extensions.unit_of_work(), current_actor(), series_id, body["reason"], utcnow()
        )


@blp.route("/task-series/<int:series_id>/signups")
class SeriesSignups(MethodView):
    @blp.response(201, SeriesSignupOutcomeSchema)
    def post(self, series_id: int) -> Any:
        """Sign up for every occurrence: those posted that have not started now, and each
        one as it is posted, by the ordinary sign-up rules. A full occurrence puts you
        on its waitlist; one you can't join is listed under `skipped`."""
        return join_series(extensions.unit_of_work(), current_actor(), series_id, utcnow())

    @blp.response(200, SeriesSignupOutcomeSchema)
    def delete(self, series_id: int) -> Any:
        """Leave the series: your places in its occurrences to come are cancelled."""
        return leave_series(extensions.unit_of_work(), current_actor(), series_id, utcnow())


@blp.route("/me/series-signups")
class MySeriesSignups(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(SeriesSignupSchema, "SeriesSignupPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The series you signed up for (or left), newest first."""
        rows = my_series_signups(
            extensions.session(),
            current_actor(),
            args["limit"] + 1,
            int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)
