"""Which subscribe-message template tells each topic, with which fields and page:
configuration (``Settings.wechat_templates``, checked at start-up)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from points.notices import Facts, Topic, field_value
from service.config import Settings


@dataclass(frozen=True, slots=True)
class Template:
    topic: Topic
    template_id: str
    page: str  # the mini-program page to open, with {fact} placeholders
    fields: Mapping[str, str]  # WeChat field key → the fact it shows

    def data(self, facts: Facts) -> dict[str, str]:
        """The field values, fitted to WeChat's limits (a missing fact shows as '-')."""
        return {key: field_value(key, facts.get(fact, "-")) for key, fact in self.fields.items()}

    def page_for(self, facts: Facts) -> str:
        try:
            return self.page.format_map(dict(facts))
        except (KeyError, ValueError, IndexError):
            return self.page.partition("?")[0]  # at least the page, without its query


Templates = Mapping[Topic, Template]


def templates_of(settings: Settings) -> dict[Topic, Template]:
    found: dict[Topic, Template] = {}
    for topic, spec in settings.wechat_templates.items():
        fields = spec["fields"]
        assert isinstance(fields, Mapping)  # Settings.validate checked the shape
        found[Topic(topic)] = Template(
            Topic(topic),
            str(spec["template_id"]),
            str(spec.get("page", "")),
            {str(key): str(value) for key, value in fields.items()},
        )
    return found
