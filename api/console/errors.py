"""Console errors are pages in Chinese; the API's stay JSON (api/errors.py answers only
the API's requests)."""

from __future__ import annotations

import logging
from typing import NoReturn

from flask import Blueprint, abort, render_template
from werkzeug.exceptions import HTTPException

from api.errors import status_of
from points.errors import DomainError

log = logging.getLogger("lianxin.console")

TITLES = {
    400: "请求无效",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持的操作",
    409: "操作冲突",
    413: "内容过大",
    422: "输入有误",
    429: "操作太频繁",
    500: "系统出错",
    503: "服务暂不可用",
}

EXPLANATIONS = {
    400: "表单已过期或缺少校验信息，请返回后刷新页面再试。",
    404: "您要找的页面不存在，或不在您的管理范围内。",
    500: "系统内部出错，已记录日志。请稍后再试。",
}


def error_page(status: int, code: str, message: str = "") -> tuple[str, int]:
    return (
        render_template(
            "console/error.html",
            status=status,
            code=code,
            title=TITLES.get(status, "出错了"),
            explanation=EXPLANATIONS.get(status, message),
        ),
        status,
    )


def register(blp: Blueprint) -> None:
    @blp.route("/<path:unknown>")
    def unknown_page(unknown: str) -> NoReturn:
        # Routed, so that an unknown console URL gets the console's page, not Flask's.
        abort(404)

    @blp.errorhandler(DomainError)
    def domain_error(error: DomainError) -> tuple[str, int]:
        return error_page(status_of(error), error.code, error.message)

    @blp.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> tuple[str, int]:
        status = error.code or 500
        return error_page(status, "http_" + str(status), error.description or "")

    @blp.errorhandler(Exception)
    def crash(error: Exception) -> tuple[str, int]:
        log.exception("unhandled error on a console page")
        return error_page(500, "internal_error")
