"""The validation messages a form shows, in Chinese where a common one has a Chinese
wording; any other is shown as the API gives it, so nothing is ever hidden."""

from __future__ import annotations

# By the message's beginning: marshmallow's defaults, the API's own fields and the
# rule-set parser's words.
CHINESE = (
    ("Missing data for required field", "必填"),
    ("Field may not be null", "必填"),
    ("required", "必填"),
    ("Not a whole number", "请填写整数"),
    ("must be a whole number", "请填写整数"),
    ("Not a valid number", "请填写数字"),
    ("Not a valid datetime", "请填写有效的时间"),
    ("Not a valid date", "请填写有效的日期"),
    ("Not a naive datetime", "请填写有效的时间"),
    ("Must be one of", "请从列表中选择"),
    ("Length must be between", "长度不符合要求"),
    ("Shorter than minimum length", "内容太短"),
    ("Longer than maximum length", "内容太长"),
    ("Must be greater than or equal to", "数值太小"),
    ("Must be less than or equal to", "数值太大"),
    ("Must be greater than", "数值超出范围"),
    ("must be text", "请填写文字"),
    ("at least 10 characters", "至少 10 个字符"),
    ("wrong password", "密码不正确"),
    ("the same as the current one", "不能与当前密码相同"),
    ("taken", "该用户名已被使用"),
    ("3 to 64 characters, no spaces", "3 到 64 个字符，不含空格"),
)


def in_chinese(message: str) -> str:
    for start, chinese in CHINESE:
        if message.startswith(start):
            return chinese
    return message
