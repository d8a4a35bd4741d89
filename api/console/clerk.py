"""The pickup counter (核销): a clerk types the member's 6-digit code and hands the
goods over once, with the same use case as POST /stations/{id}/pickups."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from api import extensions
from api.console.clock import now
from api.console.sessions import current_actor
from api.redemptions import policy
from points.access import Action
from points.errors import Conflict, InvalidInput, NotFound
from service.idempotency.store import StoredResponse, run_once
from service.stations.catalogue import station_for
from service.stations.pickups import hand_over

REFUSALS = {
    "pickup_code_used": "该取货码已核销过，不能重复领取。",
    "redemption_expired": "该兑换已过期，积分和库存已退回。",
    "not_found": "本驿站没有这个取货码。",
}


def register(blp: Blueprint) -> None:
    @blp.route("/stations/<int:station_id>/pickup", methods=["GET", "POST"])
    def pickup(station_id: int) -> tuple[str, int] | str:
        actor, moment, rules = current_actor(), now(), policy()
        # The counter's own station (404 for anyone not serving at it), named on the page.
        station = station_for(extensions.session(), actor, station_id, Action.FULFIL_PICKUPS)
        if request.method == "GET":
            return render_template("console/pickup.html", station=station)
        code = request.form.get("pickup_code", "").strip()
        try:
            done = run_once(
                extensions.unit_of_work(),
                None,  # a form is not retried by a client: no idempotency key
                lambda session: hand_over(
                    session,
                    actor,
                    station_id,
                    pickup_code=code,
                    qr_payload=None,
                    now=moment,
                    policy=rules,
                ),
                lambda view: StoredResponse(200, view),
            ).body
        except (Conflict, NotFound, InvalidInput) as refused:
            status = 409 if isinstance(refused, Conflict) else 404
            if isinstance(refused, InvalidInput):
                status = 422
            message = REFUSALS.get(refused.code, refused.message)
            page = render_template(
                "console/pickup.html", station=station, refused=message, code=code
            )
            return page, status
        return render_template("console/pickup.html", station=station, handed=done)
