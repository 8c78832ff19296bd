"""The router's settings: the agencies (``[[agencies]]``) and ``[routing]`` (threshold, SLA days,
calendar, escalations)."""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from normalizer.classify import DEFAULT_TRIAGE_THRESHOLD
from normalizer.schema import CATEGORIES


class _RouterSection(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class AgencySettings(_RouterSection):
    id: str
    name: str
    categories: list[str] = []
    areas: list[str] = []
    email: str = ""
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    # Working days this agency has, per category or "default"; over routing.sla_days.
    sla_days: dict[str, int] = {}
    # An agency whose own system speaks Open311 GeoReport v2 (as councils do for FixMyStreet):
    # new reports are POSTed to it and its status is polled back (router/open311_client.py).
    open311_endpoint: str = ""  # e.g. https://crm.example.vn/open311/v2 (no trailing format)
    open311_api_key: SecretStr = SecretStr("")
    open311_jurisdiction: str = ""
    # Our category → the agency's service_code; unmapped categories use the agency's service
    # with the same code or name (GET services.xml), else the only service it lists.
    open311_services: dict[str, str] = {}

    @field_validator("sla_days")
    @classmethod
    def _sla_keys(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = [k for k in value if k not in CATEGORIES and k != "default"]
        if unknown or any(v < 0 for v in value.values()):
            raise ValueError(f"sla_days: keys are categories or 'default', values >= 0 "
                             f"(unknown {unknown})")
        return value

    @field_validator("categories", "open311_services")
    @classmethod
    def _known_categories(cls, value: Any) -> Any:
        unknown = [c for c in value if c not in CATEGORIES]  # a list, or the mapping's keys
        if unknown:
            raise ValueError(f"unknown categories {unknown}; known: {sorted(CATEGORIES)}")
        return value

    @field_validator("open311_endpoint")
    @classmethod
    def _http_endpoint(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://")):
            raise ValueError("open311_endpoint must be an http(s) URL")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _signed_webhooks_only(self) -> AgencySettings:
        if self.webhook_url and not self.webhook_secret.get_secret_value():
            raise ValueError(f"agency {self.id}: webhook_url needs a webhook_secret (deliveries are signed)")
        return self


class RoutingSettings(_RouterSection):
    # The threshold bench/classify_eval.py checks (normalizer.classify).
    triage_threshold: float = Field(DEFAULT_TRIAGE_THRESHOLD, ge=0, le=1)
    province: str = "Huế"
    sla_days: dict[str, int] = {
        "construction_order": 10, "environment": 3, "traffic_infrastructure": 7,
        "urban_infrastructure": 5, "public_order": 3, "tourism": 5, "public_service": 10,
        "other": 7,
    }
    holidays: list[str] = []  # extra days off (ISO dates) besides the public holidays
    # Public holidays from the `holidays` library for this country (Tết by the lunar calendar,
    # substitute days off); empty: only `holidays`. Make-up working days (often Saturdays) in
    # `workdays`.
    holiday_country: str = "VN"
    workdays: list[str] = []
    # Second escalation level: a report still overdue this many working days after its due
    # moment goes to the center's director (director_email; 0: no second level).
    director_after_days: int = Field(3, ge=0)
    director_email: str = ""
    # Citizen messages that go onto the operators' call-back list when no written route reaches
    # the citizen (receipts and status steps do not; operator-written texts always do). A merged
    # duplicate's reporter hears the result as "resolved_merged" (router.notify).
    callback_templates: list[str] = ["resolved", "resolved_merged", "rejected", "agency_reply"]
    reminder_days_before: int = 1
    # Working days are counted on this calendar.
    timezone: str = "Asia/Ho_Chi_Minh"
    # How often the leader looks for reports to remind about or escalate.
    sla_check_seconds: float = Field(300.0, gt=0)
    # Where overdue escalations go besides the center's queue (empty: queue and metrics only).
    center_email: str = ""
    # A new report's first delivery to its agency waits this long while photos are still being
    # downloaded, so the mail/webhook carries them.
    delivery_media_wait_seconds: float = Field(30.0, ge=0)
    @property
    def calendar(self):  # noqa: ANN201  (router.sla.WorkCalendar)
        from router.sla import work_calendar

        return work_calendar(tuple(self.holidays), tuple(self.workdays), self.holiday_country)

    @field_validator("holiday_country")
    @classmethod
    def _known_country(cls, value: str) -> str:
        if value:
            import holidays

            try:
                holidays.country_holidays(value)
            except NotImplementedError:
                raise ValueError(f"the holidays library has no calendar for {value!r}") from None
        return value

    @field_validator("holidays", "workdays")
    @classmethod
    def _iso_dates(cls, value: list[str]) -> list[str]:
        from datetime import date

        for item in value:
            date.fromisoformat(item)
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        from zoneinfo import ZoneInfo

        ZoneInfo(value)
        return value
