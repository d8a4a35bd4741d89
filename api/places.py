"""The place tree: read by anyone signed in, changed by admins in their scope."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from marshmallow import Schema, validate

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.pagination import PageArgs, decode_cursor, page, page_schema
from api.text import Text
from points.places import MAX_DEPTH, PlaceLevel
from service.places.admin import (
    PlaceChanges,
    create_place,
    get_place,
    list_places,
    update_place,
)

blp = Blueprint("places", __name__, url_prefix="/api/v1/places", description="The place tree")

LEVELS = [level.value for level in PlaceLevel]


class PlaceSchema(Schema):
    id = WholeNumber(required=True)
    name = Text(required=True)
    level = Text(required=True, metadata={"enum": LEVELS})
    parent_id = WholeNumber(allow_none=True)
    path = Text(metadata={"description": "ids from the root, e.g. /1/2/5/"})


class NewPlaceSchema(Schema):
    parent_id = WholeNumber(required=True, validate=validate.Range(min=1))
    name = Text(required=True, validate=validate.Length(min=1, max=100))
    level = Text(
        required=True,
        validate=validate.OneOf(LEVELS),
        metadata={
            "description": "at the parent's tier or below it (tiers, top down: district; "
            "street; community; estate, natural_village and grid; building; unit); "
            f"the tree is at most {MAX_DEPTH} levels deep"
        },
    )


class PlaceChangesSchema(Schema):
    name = Text(validate=validate.Length(min=1, max=100))
    parent_id = WholeNumber(
        validate=validate.Range(min=1), metadata={"description": "move under this place"}
    )


class PlaceListArgs(PageArgs):
    under = WholeNumber(validate=validate.Range(min=1), metadata={"description": "subtree root"})


@blp.route("")
class Places(MethodView):
    @blp.arguments(PlaceListArgs, location="query")
    @blp.response(200, page_schema(PlaceSchema, "PlacePage"))
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """The place tree in tree order (a subtree with `under`)."""
        rows = list_places(
            extensions.session(),
            under=args.get("under"),
            after_path=decode_cursor(args["cursor"]),
            limit=args["limit"] + 1,
        )
        return page(rows, args["limit"], key=lambda place: place.path)

    @blp.arguments(NewPlaceSchema)
    @blp.response(201, PlaceSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Add a place under one you manage."""
        return create_place(
            extensions.unit_of_work(),
            current_actor(),
            body["parent_id"],
            body["name"],
            PlaceLevel(body["level"]),
        )


@blp.route("/<int:place_id>")
class OnePlace(MethodView):
    @blp.response(200, PlaceSchema)
    def get(self, place_id: int) -> Any:
        return get_place(extensions.session(), place_id)

    @blp.arguments(PlaceChangesSchema)
    @blp.response(200, PlaceSchema)
    def patch(self, body: dict[str, Any], place_id: int) -> Any:
        """Rename a place, or move it (with everything below it) under another."""
        return update_place(
            extensions.unit_of_work(), current_actor(), place_id, PlaceChanges(**body)
        )
