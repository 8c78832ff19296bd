"""ZNS (Zalo Notification Service): a template message to a PHONE NUMBER, for citizens the hub
knows only by phone (hotline callers, web reports with a phone, Zalo users outside the 7-day
window). The router queues outbox rows on channel ``zns`` with the phone as the address.

``POST {zns_base}/message/template`` with the OA access token, ``phone`` as ``84…``,
``template_id`` (an approved template, from the settings), ``template_data`` and
``tracking_id`` = the outbox idempotency key, so a retried send is recognizable in Zalo's reports.
"""
from __future__ import annotations

from channels.zalo.api import ErrorTable, ZaloClient
from channels.zalo.settings import ZaloSettings
from normalizer.phones import normalize_phone
from normalizer.schema import DeliveryResult, OutboundMessage

# ZNS codes on top of the OA ones (Zalo's ZNS error table): recipient-side refusals go to the
# next contact point; a bad template or quota is the center's to fix, so the citizen is reached
# another way meanwhile.
ZNS_ERRORS = ErrorTable(
    token=frozenset({-216, -220, -124}),
    other_route={
        -108: "phone number invalid for ZNS",
        -118: "no Zalo account for this phone number",
        -119: "this Zalo account cannot receive ZNS",
        -139: "citizen declined ZNS messages",
        -109: "template id invalid",
        -111: "template data empty",
        -112: "template data invalid",
        -131: "template not approved",
        -201: "request refused as invalid by Zalo",
        -230: "citizen has not interacted with the OA in the last 7 days",
        -232: "outside the allowed window",
        -213: "citizen does not follow the OA",
        -227: "citizen account banned or inactive",
        -244: "citizen has blocked the OA",
    },
)
TRACKING_ID_MAX = 48
PARAM_MAX = 200


def zns_phone(raw: str) -> str | None:
    """``84…`` form of a Vietnamese number (ZNS wants no ``+`` and no leading 0)."""
    e164 = normalize_phone(raw)
    if not e164 or not e164.startswith("+84"):
        return None
    return e164[1:]


class ZnsSender:
    """The "zns" outbox route (a sender only: ZNS has no inbound messages)."""

    name = "zns"

    def __init__(self, cfg: ZaloSettings, client: ZaloClient) -> None:
        self.cfg, self.client = cfg, client

    def template_data(self, message: OutboundMessage) -> dict[str, str]:
        fields = {k: str(v) for k, v in (message.template_data or {}).items() if v is not None}
        fields.setdefault("code", message.report_code or "")
        mapping = self.cfg.zns_params
        if mapping:
            fields = {param: fields.get(ours, "") for param, ours in mapping.items()}
        return {k: v[:PARAM_MAX] for k, v in fields.items()}

    async def send(self, address: str, message: OutboundMessage) -> DeliveryResult:
        cfg = self.cfg
        phone = zns_phone(address)
        if phone is None:
            return DeliveryResult.give_up("not a Vietnamese phone number", needs_other_route=True)
        template_id = str(message.reply_context.get("zns_template_id") or cfg.zns_template_id)
        if not template_id:
            return DeliveryResult.give_up("channels.zalo.zns_template_id is not configured",
                                          needs_other_route=True)
        body = {"phone": phone, "template_id": template_id,
                "template_data": self.template_data(message),
                "tracking_id": (message.idempotency_key or "")[:TRACKING_ID_MAX]}
        url = cfg.zns_base.rstrip("/") + "/message/template"
        return await self.client.deliver(url, body, ZNS_ERRORS, "zns")
