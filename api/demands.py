"""Resident demands (居民诉求) and their closed loop: 收集 → 立项 → 交办 → 落实 → 反馈 →
核查 → 公示 → 销号, the overdue list, the public list and the deadlines staff keep."""

from __future__ import annotations

from typing import Any

from flask import send_file
from flask.views import MethodView

from api import extensions
from api.authentication import current_actor
from api.demand_schemas import (
    AcceptSchema,
    AssignSchema,
    DecidedSchema,
    DemandAndTimeline,
    DemandListArgs,
    DemandNoteSchema,
    DemandReasonSchema,
    DemandSchema,
    DemandWithTimelineSchema,
    LimitSchema,
    ListArgs,
    ListRowSchema,
    MergeSchema,
    OverdueArgs,
    PublicArgs,
    PublicDemandSchema,
    PublishSchema,
    RatingSchema,
    ResolveSchema,
    WhistleStatsArgs,
    WhistleStatsSchema,
)
from api.openapi import Blueprint
from api.pagination import PageArgs, int_cursor, offset_page, page, page_schema
from points.demands import (
    DemandLevel,
    DemandOrder,
    DemandStatus,
    Limit,
    LimitKey,
    LimitUnit,
    OwnerKind,
    Stage,
)
from points.rules import Category
from service.db import utcnow
from service.demands.deadlines import KeptLimit, forget_limit, keep_limit, list_limits
from service.demands.export import XLSX, export_list
from service.demands.handling import (
    DemandFilter,
    NewDemand,
    list_demands,
    my_demands,
    report_demand,
    view_demand,
)
from service.demands.lists import DemandList, ListFilter, list_page
from service.demands.loop import (
    Decided,
    Owner,
    accept_demand,
    assign_demand,
    close_demand,
    decline_demand,
    escalate_demand,
    merge_demand,
    publish_demand,
    resolve_demand,
    return_demand,
    send_back_demand,
    start_demand,
    verify_demand,
)
from service.demands.overdue import overdue_demands
from service.demands.public import public_demands
from service.demands.rating import rate_demand
from service.demands.whistles import whistle_stats

blp = Blueprint("demands", __name__, url_prefix="/api/v1", description="Demands (居民诉求)")
public = Blueprint(
    "public", __name__, url_prefix="/api/v1/public", description="Read without signing in (公示)"
)


@blp.route("/demands")
class Demands(MethodView):
    @blp.arguments(DemandListArgs, location="query")
    @blp.response(200, page_schema(DemandSchema, "DemandPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Demands in the places you handle, oldest first; for a department's officers,
        those whistled to it, soonest deadline first."""
        offset = int_cursor(args["cursor"])
        status = args.get("status")
        wanted = DemandFilter(
            status=DemandStatus(status) if status else None, place_id=args.get("org_id")
        )
        rows = list_demands(
            extensions.session(), current_actor(), wanted, args["limit"] + 1, offset
        )
        return offset_page(rows, args["limit"], offset)

    @blp.arguments(DemandSchema)
    @blp.response(201, DemandSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Send in a demand or report a problem where you live; or, saying where it is
        (lat, lng), a problem anywhere (移动探头). An accepted report earns points by the
        rules."""
        order = body.pop("order_kind")
        spec = NewDemand(
            **{
                **body,
                "category": Category(body["category"]),
                "upload_ids": tuple(body["upload_ids"]),
                "order": DemandOrder(order) if order else None,
            }
        )
        return report_demand(
            extensions.unit_of_work(),
            current_actor(),
            spec,
            utcnow(),
            checks=extensions.content_checks(),
        )


@blp.route("/demands/<int:demand_id>")
class OneDemand(MethodView):
    @blp.response(200, DemandWithTimelineSchema)
    def get(self, demand_id: int) -> Any:
        """Your own demand, one handed to you, or one in the places you handle; with its
        timeline."""
        found = view_demand(extensions.session(), current_actor(), demand_id, utcnow())
        return DemandAndTimeline(found)


@blp.route("/demands/overdue")
class Overdue(MethodView):
    @blp.arguments(OverdueArgs, location="query")
    @blp.response(200, page_schema(DemandSchema, "OverdueDemandPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Open demands past the deadline of the stage they wait in, longest overdue
        first: in the places you handle, and those whistled to your department."""
        offset = int_cursor(args["cursor"])
        rows = overdue_demands(
            extensions.session(),
            current_actor(),
            utcnow(),
            args["limit"] + 1,
            offset,
            place_id=args.get("org_id"),
        )
        return offset_page(rows, args["limit"], offset)


@blp.route("/demands/<int:demand_id>/accept")
class Accept(MethodView):
    @blp.arguments(AcceptSchema)
    @blp.response(200, DecidedSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Decided:
        """立项 at a level (三事分流; grid if none is named), which sets the deadline to
        resolve it: the reporter is credited by the rules, once. Not your own."""
        return accept_demand(
            extensions.unit_of_work(),
            current_actor(),
            demand_id,
            utcnow(),
            level=DemandLevel(body["level"]),
            note=body["note"],
        )


@blp.route("/demands/<int:demand_id>/decline")
class Decline(MethodView):
    @blp.arguments(DemandReasonSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        return decline_demand(
            extensions.unit_of_work(), current_actor(), demand_id, body["reason"], utcnow()
        )


@blp.route("/demands/<int:demand_id>/merge")
class Merge(MethodView):
    @blp.arguments(MergeSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """The same problem as another demand: declined as its duplicate (the reporter is
        told which, and earns nothing for it)."""
        return merge_demand(
            extensions.unit_of_work(), current_actor(), demand_id, body["into"], utcnow()
        )


@blp.route("/demands/<int:demand_id>/assign")
class Assign(MethodView):
    @blp.arguments(AssignSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """交办 to a member or volunteer of the place, to yourself, or to a department
        (吹哨报到: its officers must 报到 within the acknowledge limit)."""
        owner = Owner(
            OwnerKind(body["owner"]),
            user_id=body.get("user_id"),
            department_id=body.get("department_id"),
        )
        return assign_demand(
            extensions.unit_of_work(),
            current_actor(),
            demand_id,
            owner,
            utcnow(),
            note=body["note"],
        )


@blp.route("/demands/<int:demand_id>/start")
class Start(MethodView):
    @blp.arguments(DemandNoteSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """落实 begins, by the one it is assigned to; for a department, its 报到."""
        return start_demand(
            extensions.unit_of_work(), current_actor(), demand_id, utcnow(), note=body["note"]
        )


@blp.route("/demands/<int:demand_id>/return")
class Return(MethodView):
    @blp.arguments(DemandReasonSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """The one it is assigned to hands it back, saying why (a department's refusal)."""
        return return_demand(
            extensions.unit_of_work(), current_actor(), demand_id, body["reason"], utcnow()
        )


@blp.route("/demands/<int:demand_id>/escalate")
class Escalate(MethodView):
    @blp.arguments(DemandReasonSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """Up a level (grid → community → street), saying why; it is assigned anew."""
        return escalate_demand(
            extensions.unit_of_work(), current_actor(), demand_id, body["reason"], utcnow()
        )


@blp.route("/demands/<int:demand_id>/resolve")
class Resolve(MethodView):
    @blp.arguments(ResolveSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """反馈: say what was done, with photos; the reporter sees it. By the one it is
        assigned to, or staff for them (a department answers for itself)."""
        return resolve_demand(
            extensions.unit_of_work(),
            current_actor(),
            demand_id,
            body["resolution"],
            utcnow(),
            upload_ids=tuple(body["upload_ids"]),
        )


@blp.route("/demands/<int:demand_id>/verify")
class Verify(MethodView):
    @blp.arguments(DemandNoteSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """核查: it was done. Not by the one who did it."""
        return verify_demand(
            extensions.unit_of_work(), current_actor(), demand_id, utcnow(), note=body["note"]
        )


@blp.route("/demands/<int:demand_id>/send-back")
class SendBack(MethodView):
    @blp.arguments(DemandReasonSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """核查 found it not done: back to 落实, saying why."""
        return send_back_demand(
            extensions.unit_of_work(), current_actor(), demand_id, body["reason"], utcnow()
        )


@blp.route("/demands/<int:demand_id>/publish")
class Publish(MethodView):
    @blp.arguments(PublishSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """公示 on the community's public list, in words written for it."""
        return publish_demand(
            extensions.unit_of_work(), current_actor(), demand_id, body["summary"], utcnow()
        )


@blp.route("/demands/<int:demand_id>/close")
class Close(MethodView):
    @blp.arguments(DemandNoteSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """销号: a published or verified demand, or an accepted one that went away."""
        return close_demand(
            extensions.unit_of_work(), current_actor(), demand_id, utcnow(), note=body["note"]
        )


@blp.route("/me/demands")
class MyDemands(MethodView):
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(DemandSchema, "MyDemandPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Demands you sent in, and orders filed for you (代办), newest first."""
        rows = my_demands(
            extensions.session(),
            current_actor(),
            args["limit"] + 1,
            int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)


@blp.route("/demands/<int:demand_id>/rating")
class Rating(MethodView):
    @blp.arguments(RatingSchema)
    @blp.response(200, DemandSchema)
    def post(self, body: dict[str, Any], demand_id: int) -> Any:
        """群众来评判: rate what was done, 1 to 5, once it was done (the resident who
        raised it; changeable for 7 days). 1 or 2 sends it back to 核查."""
        return rate_demand(
            extensions.unit_of_work(),
            current_actor(),
            demand_id,
            body["score"],
            body["comment"],
            utcnow(),
            checks=extensions.content_checks(),
        )


@blp.route("/departments/<int:department_id>/whistle-stats")
class WhistleStatistics(MethodView):
    @blp.arguments(WhistleStatsArgs, location="query")
    @blp.response(200, WhistleStatsSchema)
    def get(self, args: dict[str, Any], department_id: int) -> Any:
        """吹哨报到 by the numbers for the whistles a department received in a period
        (this quarter unless from/to say otherwise): 报到率, answers on time, hours to
        报到 and to answer, ratings. The department's officers and organisation admins."""
        return whistle_stats(
            extensions.session(),
            current_actor(),
            department_id,
            utcnow(),
            first=args.get("first"),
            last=args.get("last"),
        )


@blp.route("/demand-lists/<any(problems, tasks, effects):which>")
class DemandLists(MethodView):
    @blp.arguments(ListArgs, location="query")
    @blp.response(200, page_schema(ListRowSchema, "DemandListPage"))
    @blp.alt_response(200, description="with format=xlsx: the spreadsheet", content_type=XLSX)
    def get(self, args: dict[str, Any], which: str) -> Any:
        """三个清单: problems (every demand, by when it was sent in), tasks (what was
        handed to whom and by when, by when it was handed out) and effects (what was
        done and how residents rated it, by when it was closed), for the places you
        handle; ?format=xlsx gives the whole list as a spreadsheet."""
        session, actor, now = extensions.session(), current_actor(), utcnow()
        wanted = ListFilter(
            place_id=args.get("org_id"),
            first=args.get("first"),
            last=args.get("last"),
            level=DemandLevel(args["level"]) if args.get("level") else None,
            category=Category(args["category"]) if args.get("category") else None,
        )
        kind = DemandList(which)
        if args["format"] == "xlsx":
            spreadsheet = export_list(session, actor, kind, wanted, now)
            return send_file(
                spreadsheet.file,
                mimetype=XLSX,
                as_attachment=True,
                download_name=spreadsheet.file_name,
            )
        offset = int_cursor(args["cursor"])
        rows = list_page(session, actor, kind, wanted, now, args["limit"] + 1, offset)
        return offset_page(rows, args["limit"], offset)


def _limit_view(kept: KeptLimit) -> dict[str, Any]:
    return {
        "stage": kept.key.stage.value,
        "level": kept.key.level.value if kept.key.level else None,
        "category": kept.key.category,
        "amount": kept.limit.amount,
        "unit": kept.limit.unit.value,
        "id": kept.id,
        "default": kept.id is None,
    }


def _key(args: dict[str, Any]) -> LimitKey:
    level = args.get("level")
    return LimitKey(
        Stage(args["stage"]), DemandLevel(level) if level else None, args.get("category")
    )


@blp.route("/demand-limits")
class DemandLimits(MethodView):
    @blp.response(200, LimitSchema(many=True))
    def get(self) -> list[dict[str, Any]]:
        """The deadline of each stage of the loop: those kept, then the defaults none
        replaces. The most specific one (level and category) applies. Admins."""
        return [_limit_view(kept) for kept in list_limits(extensions.session(), current_actor())]

    @blp.arguments(LimitSchema)
    @blp.response(200, LimitSchema)
    def put(self, body: dict[str, Any]) -> dict[str, Any]:
        """Keep a deadline for a stage, for one level and category or all. Applies to
        stages begun from now on."""
        kept = keep_limit(
            extensions.unit_of_work(),
            current_actor(),
            _key(body),
            Limit(body["amount"], LimitUnit(body["unit"])),
            utcnow(),
        )
        return _limit_view(kept)


@blp.route("/demand-limits/<int:limit_id>")
class OneDemandLimit(MethodView):
    @blp.response(204)
    def delete(self, limit_id: int) -> None:
        """Forget a kept deadline: the default (or a less specific one) applies again."""
        forget_limit(extensions.unit_of_work(), current_actor(), limit_id)


@public.route("/demands")
class PublicDemands(MethodView):
    @public.arguments(PublicArgs, location="query")
    @public.response(200, page_schema(PublicDemandSchema, "PublicDemandPage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """公示: what was done about residents' demands in a place, newest first, for
        anyone (no sign-in). No names, phones or doors: the grid, the category and what
        staff wrote for the public."""
        rows = public_demands(
            extensions.session(),
            args["org_id"],
            utcnow(),
            extensions.settings().demand_public_days,
            args["limit"] + 1,
            before_id=int_cursor(args["cursor"]) or None,
        )
        return page(rows, args["limit"], key=lambda row: row.id)
