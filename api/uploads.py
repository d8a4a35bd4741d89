"""Photos: `POST /uploads`, and the signed links that show them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response, request, url_for
from flask.views import MethodView
from flask_smorest.fields import Upload as UploadField
from marshmallow import Schema, fields, validate
from werkzeug.datastructures import FileStorage

from api import extensions
from api.authentication import current_actor
from api.numbers import WholeNumber
from api.openapi import Blueprint
from api.text import Text, VerbatimText
from points.uploads import (
    LINK_LIFETIME,
    MAX_PHOTOS_PER_SUBMISSION,
    derive_key,
    sign_link,
)
from service.db import utcnow
from service.moderation.photos import visible_photos
from service.uploads.models import Upload
from service.uploads.photos import open_photo, take_photo

blp = Blueprint("uploads", __name__, url_prefix="/api/v1", description="Photos (上传照片)")


def photo_url(upload_id: int) -> str:
    """A link to one photo that works without a token, for an hour (LINK_LIFETIME)."""
    key = derive_key(extensions.settings().secret_key)
    expires, signature = sign_link(key, upload_id, utcnow())
    return url_for(
        "uploads.PhotoContent", upload_id=upload_id, expires=expires, signature=signature
    )


def photo_ids(description: str = "photos, from POST /uploads") -> fields.List[int]:
    """The photos a body hands in by their upload ids: nine at most, as wx.chooseMedia."""
    return fields.List(
        WholeNumber(validate=validate.Range(min=1)),
        load_default=list,
        validate=validate.Length(max=MAX_PHOTOS_PER_SUBMISSION),
        metadata={"description": description},
    )


def photo_links(upload_ids: Iterable[int]) -> list[dict[str, Any]]:
    """Photos as shown with what they belong to: ``{id, url}`` each, in order. Only for
    someone who may see that work, visit or demand; of those, a photo WeChat has not
    passed only to its owner and the place's staff (service/moderation/photos.py)."""
    wanted = list(upload_ids)
    if not wanted:
        return []
    shown = visible_photos(extensions.session(), current_actor(), wanted)
    return [{"id": upload_id, "url": photo_url(upload_id)} for upload_id in shown]


def public_photo_url(upload_id: int) -> str:
    """The link WeChat fetches a photo by to check it: this server as the internet
    reaches it (LIANXIN_PUBLIC_BASE_URL), else as this request reached it."""
    base = extensions.settings().public_base_url or request.host_url.rstrip("/")
    return base + photo_url(upload_id)


class PhotoFileSchema(Schema):
    file = UploadField(
        required=True, metadata={"description": "a JPEG, PNG or WebP photo (checked by content)"}
    )


class PhotoUploadSchema(Schema):
    id = WholeNumber(required=True)
    url = fields.Method("dump_url", metadata={"description": "valid for an hour; no token needed"})
    content_type = Text()
    size_bytes = WholeNumber()
    width = WholeNumber()
    height = WholeNumber()

    def dump_url(self, upload: Upload) -> str:
        return photo_url(upload.id)


class LinkArgs(Schema):
    expires = WholeNumber(required=True, validate=validate.Range(min=0, max=2**40))
    signature = VerbatimText(required=True, validate=validate.Length(equal=32))


@blp.route("/uploads")
class Uploads(MethodView):
    @blp.arguments(PhotoFileSchema, location="files")
    @blp.response(201, PhotoUploadSchema)
    @blp.alt_response(413, description="the photo is over LIANXIN_UPLOAD_MAX_BYTES")
    def post(self, files: dict[str, FileStorage]) -> Upload:
        """Upload a photo to hand in with work; attach it by id when submitting.
        EXIF (and with it any location) is removed; unattached photos are yours only."""
        limit = extensions.settings().upload_max_bytes
        # One byte over the limit is enough to know it is too large.
        data = files["file"].stream.read(limit + 1)
        return take_photo(
            extensions.unit_of_work(),
            extensions.upload_store(),
            current_actor(),
            data,
            limit,
            extensions.content_checks(),
            public_photo_url,
            utcnow(),
        )


@blp.route("/uploads/<int:upload_id>/content")
class PhotoContent(MethodView):
    @blp.arguments(LinkArgs, location="query")
    @blp.doc(security=[], responses={"200": {"description": "the photo"}})
    def get(self, args: dict[str, Any], upload_id: int) -> Response:
        """The photo behind a signed link (no token: an ``<image>`` can't send one)."""
        photo = open_photo(
            extensions.session(),
            extensions.upload_store(),
            extensions.settings().secret_key,
            upload_id,
            args["expires"],
            args["signature"],
            utcnow(),
        )
        response = Response(photo.data, mimetype=photo.content_type)
        response.headers["Cache-Control"] = f"private, max-age={int(LINK_LIFETIME.total_seconds())}"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Content-Disposition"] = "inline"
        return response
