"""The intake dialogue: after a citizen's first message, ask — once each, only while missing, one
question at a time — for the place, a photo and a phone number. Pure: no I/O, no clock.

The state lives on the report (``Report.extra["dialogue"]``) as ``Dialogue.to_dict()``; the hub
feeds it what the report has after each of the citizen's messages (``have``) and what the
message said (``Intent``), and gets back a ``Step``: the new state, at most one question to ask
now, and whether the dialogue ended with this step (then the report is routed). The assembly
window closing ends it too (``close``).

Rules (checked by the property tests in tests/dialogue/):
- a slot is asked only when the channel can ask it, the report lacks it and it was never asked;
- never more than one open question: a message that does not answer the open question leaves it
  open (nothing new is asked) — the citizen is not nagged while still typing;
- an answer (the slot is now present) or "bỏ qua" closes the open question; then the next missing
  slot is asked, in the order place → photo → phone;
- "xong" ends the dialogue at once; so does having nothing left to ask;
- once done, nothing changes and nothing is asked.

Also here, because they read what a citizen typed the same way: status lookups ("tra cứu
PA-…", "/status PA-…", a bare code) and report codes in free text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from normalizer.text import fold, nfc

Slot = Literal["place", "photo", "phone"]
SLOTS: tuple[Slot, ...] = ("place", "photo", "phone")
Intent = Literal["content", "skip", "done"]


@dataclass(frozen=True, slots=True)
class Dialogue:
    asked: tuple[Slot, ...] = ()          # in the order asked; never repeats
    skipped: frozenset[Slot] = frozenset()
    pending: Slot | None = None           # the open question, if any
    done: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"asked": list(self.asked), "skipped": sorted(self.skipped),
                "pending": self.pending, "done": self.done}

    @classmethod
    def from_dict(cls, data: Any) -> Dialogue | None:
        """The stored state, or None when there is none (a report made before dialogues, or on
        a channel without one). Unknown slot names are dropped, not trusted."""
        if not isinstance(data, dict):
            return None
        asked = tuple(s for s in data.get("asked") or () if s in SLOTS)
        skipped = frozenset(s for s in data.get("skipped") or () if s in SLOTS)
        pending = data.get("pending") if data.get("pending") in SLOTS else None
        return cls(asked=tuple(dict.fromkeys(asked)), skipped=skipped, pending=pending,
                   done=bool(data.get("done")))


@dataclass(frozen=True, slots=True)
class Step:
    state: Dialogue
    ask: Slot | None = None     # the one question to send now
    finished: bool = False      # the dialogue ended with this step: route the report now
    answered: Slot | None = field(default=None)  # the open question this message closed


def _next(state: Dialogue, have: frozenset[str], askable: frozenset[str]) -> Step:
    """No question is open: ask the next missing slot, or finish."""
    for slot in SLOTS:
        if slot in askable and slot not in have and slot not in state.asked:
            return Step(replace(state, asked=(*state.asked, slot), pending=slot), ask=slot)
    return Step(replace(state, pending=None, done=True), finished=True)


def start(have: frozenset[str] | set[str], askable: frozenset[str] | set[str] = frozenset(SLOTS)) -> Step:
    """The first message made the report: ask for the first missing slot (or finish at once)."""
    return _next(Dialogue(), frozenset(have), frozenset(askable))


def advance(state: Dialogue, have: frozenset[str] | set[str], intent: Intent = "content",
            askable: frozenset[str] | set[str] = frozenset(SLOTS)) -> Step:
    """A later message of the citizen (or a shared contact): ``have`` is what the report has now."""
    if state.done:
        return Step(state)
    have, askable = frozenset(have), frozenset(askable)
    if intent == "done":
        return Step(replace(state, pending=None, done=True), finished=True,
                    answered=state.pending if state.pending in have else None)
    answered = None
    if state.pending is not None:
        if state.pending in have:
            answered, state = state.pending, replace(state, pending=None)
        elif intent == "skip":
            state = replace(state, skipped=state.skipped | {state.pending}, pending=None)
        else:
            return Step(state)  # still waiting for the open question; ask nothing new
    step = _next(state, have, askable)
    return replace(step, answered=answered)


def close(state: Dialogue) -> Step:
    """The assembly window ended: the dialogue is over, whatever is still open."""
    if state.done:
        return Step(state)
    return Step(replace(state, pending=None, done=True), finished=True)


# --- what a citizen's words mean -----------------------------------------------------------

_SKIP = {"bo qua", "boqua", "skip", "khong", "khong co", "ko", "k", "khong co anh", "ko co",
         "khong can", "thoi", "khong biet", "chua co", "khong co so", "bo qua nhe", "bo qua a"}
_DONE = {"xong", "xong roi", "het", "het roi", "du roi", "vay thoi", "done", "/done", "ok xong",
         "da xong", "the thoi", "chi vay thoi", "xong a", "xong nhe"}


def _bare(text: str) -> str:
    return re.sub(r"[\s.!,;:…?~]+", " ", fold(nfc(text))).strip()


def intent_of(text: str | None) -> Intent:
    """"bỏ qua" / "không có" skips the open question; "xong" ends the dialogue; anything else is
    content. Only a whole short message counts ("không có ai dọn rác" is content)."""
    bare = _bare(text or "")
    if bare in _DONE:
        return "done"
    if bare in _SKIP:
        return "skip"
    return "content"


# Words that make a short answer to "where is it?" an address (folded).
_PLACE_WORDS = ("duong", "kiet", "hem", "ngo", "so nha", "phuong", "xa ", "thon", "to dan pho",
                "cau ", "cho ", "nga ba", "nga tu", "gan ", "truoc ", "doi dien", "canh ",
                "khu ", "quoc lo", "ql", "tinh lo", "ben ", "cong vien", "truong ", "benh vien")


def looks_like_place(text: str | None) -> bool:
    """A short reply to the place question that reads like an address: a house number or a
    street/alley/ward word. "rác nhiều lắm" does not; "kiệt 5 Ngự Bình" does."""
    bare = _bare(text or "")
    if not bare or len(bare) > 200:
        return False
    # "đèn đường", "mặt đường", "lòng đường", "lề đường" name a thing on a street, not a place
    padded = _NOT_A_STREET.sub(" ", f" {bare} ")
    if any(f" {w}" in padded for w in _PLACE_WORDS):
        return True
    # A house number before a street's name ("12 Lê Lợi", "5/3 Trần Phú"), or coordinates; a
    # number alone ("2 ngày rồi", "lúc 9 giờ") is not a place.
    original = nfc(text or "")
    return bool(_HOUSE_NUMBER.search(original) or _COORDINATES.search(original)
                or _STREET_NAMED.search(original) or re.search(r"(?:^| )so \d", bare))


_NOT_A_STREET = re.compile(r"(?<= )(?:den|mat|long|le|via he|long le) duong(?= )")
_CAPITAL = "(?:[A-ZĐÀÁẢÃẠÂẦẤẨẪẬĂẰẮẲẴẶÈÉẺẼẸÊỀẾỂỄỆÌÍỈĨỊÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢÙÚỦŨỤƯỪỨỬỮỰỲÝỶỸỴ])"
_HOUSE_NUMBER = re.compile(r"(?<![\d.,])\d{1,4}[A-Za-z]?(?:/\d{1,4}[A-Za-z]?)*\s+" + _CAPITAL)
_STREET_NAMED = re.compile(r"(?i:đường|duong)\s+" + _CAPITAL)
_COORDINATES = re.compile(r"\b\d{1,3}[.,]\d{3,}\s*[,;]\s*\d{1,3}[.,]\d{3,}\b")


CODE_RE = re.compile(r"\bPA-\d{4}-\d{6,}\b", re.IGNORECASE)
_LOOKUP = re.compile(
    r"^\s*(?:/status(?:@\w+)?|/tracuu|tra\s*cuu|tracuu|kiem\s*tra|xem|status|ma)?\s*[:#]?\s*"
    r"(PA-\d{4}-\d{6,})\s*[.!?]*\s*$", re.IGNORECASE)


def find_code(text: str | None) -> str | None:
    """The first report code anywhere in the text, upper-cased."""
    match = CODE_RE.search(text or "")
    return match.group(0).upper() if match else None


# Words a lookup may be phrased with around the code (folded): "tra cứu mã PA-…", "cho tôi hỏi
# phản ánh PA-… ạ".
_LOOKUP_WORDS = frozenset((
    "tra", "cuu", "tracuu", "kiem", "xem", "status", "ma", "so", "phan", "anh", "ho", "cho", "toi",
    "minh", "em", "hoi", "giup", "voi", "a", "oi", "ad", "admin", "ban", "xin", "vui", "long",
    "lai", "thong", "tin", "tinh", "trang", "tien", "do", "cua", "nay", "nhe", "nha", "vay",
    "nhi", "ha", "the", "muon", "can", "check", "dum", "ho", "code", "ve", "ve", "don",
))
# What makes a short message about a code a question about its progress.
_LOOKUP_CUES = re.compile(
    r"\b(?:den\s*dau|toi\s*dau|dau\s*roi|the\s*nao|ra\s*sao|sao\s*roi|tinh\s*trang|tien\s*do|"
    r"bao\s*gio|khi\s*nao|luc\s*nao|tra\s*cuu|kiem\s*tra|xu\s*ly\s*(?:xong\s*)?(?:chua|gi)|"
    r"(?:xong|duoc|xu\s*ly|giai\s*quyet|sua)\s*chua|co\s*ai\s*xu\s*ly)\b"
    r"|\bchua\s*(?:a|vay|nhi|ha|nhe|ad)?\s*$")
_LOOKUP_MAX_WORDS = 10


def lookup_code(text: str | None, *, loose: bool = False) -> str | None:
    """The code a status lookup asks for: "tra cứu PA-…", "/status PA-…", "PA-…" alone, and a
    short message whose point is asking about one code ("tra cứu mã PA-…", "PA-… xử lý đến đâu
    rồi ạ?", "cho tôi hỏi phản ánh PA-… đã xong chưa"). A code inside a longer message, or with
    words that add to the report ("PA-… đèn vẫn chưa sửa"), is not a lookup. With ``loose`` (a
    mail: the code may sit in a sentence) any code in the text counts."""
    if not text:
        return None
    folded = fold(nfc(text))
    match = _LOOKUP.match(folded)
    if match:
        return match.group(1).upper()
    codes = {c.upper() for c in CODE_RE.findall(text)}
    if len(codes) == 1:
        rest = re.findall(r"[a-z0-9]+", CODE_RE.sub(" ", folded))
        bare = " ".join(rest)
        if len(rest) <= _LOOKUP_MAX_WORDS and (
                all(w in _LOOKUP_WORDS for w in rest) or _LOOKUP_CUES.search(bare)):
            return codes.pop()
    return find_code(text) if loose else None


# --- withdrawing a report ---------------------------------------------------------------------

# "hủy phản ánh", "huỷ giúp em", "rút lại", "thu hồi", "xóa phản ánh", "gửi nhầm": never "phá hủy",
# "bị hủy", "tiêu hủy" (things destroyed are reported).
_CANCEL = re.compile(r"(?<!pha )(?<!bi )(?<!tieu )(?<!da )\b(?:huy|rut\s*lai|thu\s*hoi|xoa)\b"
                     r"|\bgui\s*nham\b|\bnham\s*roi\b")
_CANCEL_WORDS = frozenset((
    "huy", "rut", "lai", "thu", "hoi", "xoa", "gui", "nham", "bo", "muon", "yeu", "cau", "di",
    "vua", "roi", "dum", "giup", "khong", "can", "nua", "bao", "cao", "don", "lam", "on", "duoc",
    "ko", "k", "dc", "luon", "cai", "hom", "qua", "sang", "nay", "xin", "phep", "minh", "toi",
    "em", "a", "ad", "nhe", "nha", "vi", "da", "xu", "ly", "het", "sua", "tu", "o",
)) | _LOOKUP_WORDS
_CANCEL_MAX_WORDS = 15


def cancel_request(text: str | None) -> str | None:
    """A short message withdrawing a report: "hủy phản ánh PA-…", "em gửi nhầm, hủy giúp em",
    "tôi muốn rút lại phản ánh". Returns the code it names, "" when it names none, None when it is
    not a withdrawal (with or without diacritics; "cây bị phá hủy", "hủy hoại môi trường" and
    anything longer or saying more are reports)."""
    if not text:
        return None
    folded = fold(nfc(text))
    codes = {c.upper() for c in CODE_RE.findall(text)}
    if len(codes) > 1:
        return None
    rest = re.findall(r"[a-z0-9]+", CODE_RE.sub(" ", folded))
    if not rest or len(rest) > _CANCEL_MAX_WORDS or not _CANCEL.search(" ".join(rest)):
        return None
    if not all(w in _CANCEL_WORDS for w in rest):
        return None
    return codes.pop() if codes else ""


# --- small talk: what is said to the bot, not reported ---------------------------------------

SmallTalk = Literal["greeting", "thanks", "my_codes"]

# Words that only address or soften (folded): "cảm ơn ad nhiều ạ", "chào chị ạ".
_FILLER = frozenset((
    "a", "ad", "admin", "ban", "anh", "chi", "em", "co", "chu", "bac", "page", "shop", "trung",
    "tam", "trungtam", "nhieu", "lam", "rat", "nhe", "nha", "nhen", "oi", "ho", "tro", "giup",
    "do", "vi", "da", "vang", "d", "ok", "oke", "okie", "okay", "uh", "u", "um", "ah", "nhung",
    "ca", "moi", "nguoi", "mn", "minh", "toi", "tui", "chau", "con", "ne", "nhiu", "nhju",
    "thiet", "that", "su", "qua", "vay", "the", "cac", "quy", "vi", "can", "bo", "dong", "chi",
    "ha", "hen", "nghen", "nhe", "luon", "roi", "xin", "gui", "loi", "nhanh", "so", "much",
    "you", "very", "so", "lots", "alot", "of", "buoi", "sang", "trua", "chieu", "toi", "morning",
    "tot", "lanh",
))
_THANKS = re.compile(r"\b(?:cam\s*on|camon|cam\s*ohn|cmon|cam\s*un|thanks?|thank\s*you|thankyou|"
                     r"tks|thx|tk|ty|cam\s*ta|da\s*ta)\b")
_GREETING = re.compile(r"\b(?:xin\s*chao|chao|hello|helo|hi|hey|alo+|a\s*lo|co\s*ai\s*(?:o\s*)?"
                       r"(?:khong|ko|k)|good\s*(?:morning|afternoon|evening))\b")
# "what is my code / what did I report": a question about the citizen's own reports.
_MY = r"(?:cua\s*(?:toi|minh|em|tui|tao|chau|con|anh|chi|ad)|toi|minh|em|tui)"
_MY_CODES = re.compile(
    r"\b(?:(?:ma|code)\s*(?:phan\s*anh|ho\s*so|so|tra\s*cuu|bao\s*cao|ticket|don|pa)?\s*"
    r"(?:cua\s*(?:toi|minh|em|tui|tao|chau|con)|(?:la|o)\s*(?:gi|bao\s*nhieu|dau|so\s*may)|"
    r"bao\s*nhieu)"
    r"|(?:ma|code)\s*(?:phan\s*anh|ho\s*so)?\s*(?:gi|nao)\s*(?:vay|the|nhi|a|ha|day)?$"
    r"|(?:quen|mat|khong\s*nho|ko\s*nho|k\s*nho|chua\s*(?:nhan|co|biet))\s*(?:mat\s*)?ma"
    r"|(?:xem|tra|kiem\s*tra|liet\s*ke|danh\s*sach)\s*(?:lai\s*)?(?:cac\s*|nhung\s*)?"
    r"(?:ma|phan\s*anh|ho\s*so)\s*(?:cua\s*)?" + _MY +
    r"|(?:cac|nhung)\s*(?:phan\s*anh|ho\s*so)\s*(?:cua\s*)?" + _MY +
    r"|(?:phan\s*anh|ho\s*so)\s*cua\s*(?:toi|minh|em|tui)\s*(?:dau|the\s*nao|sao\s*roi|ra\s*sao|"
    r"den\s*dau|toi\s*dau|gom|la)"
    r"|" + _MY + r"\s*(?:da\s*)?(?:gui|phan\s*anh)\s*(?:nhung\s*)?(?:gi|nhung\s*gi|bao\s*nhieu))")
_SMALL_MAX_WORDS = 12
_PROGRESS_MAX_WORDS = 16
# "Phản ánh hôm trước xử lý chưa ạ?", "cống em báo hôm trước đến đâu rồi": how is my earlier
# report doing, without its code — answered with the citizen's latest reports and their status.
_PROGRESS = re.compile(r"\b(xu ly chua|da xu ly chua|den dau roi|toi dau roi|the nao roi|"
                       r"sao roi|ra sao roi|xong chua|khi nao xu ly|bao gio xu ly|co ai xu ly chua)\b")
_EARLIER = re.compile(r"\b(hom truoc|hom qua|hom kia|tuan truoc|lan truoc|bua truoc|bua qua|"
                      r"(da|em|minh|toi|tui|chau) (bao|gui|phan anh)|phan anh (roi|truoc)|"
                      r"bao roi|gui roi)\b")


def _asks_progress(bare: str) -> bool:
    """A short question about an earlier report's progress: it names the earlier report ("hôm
    trước", "em báo") or says nothing else ("xử lý chưa ạ?")."""
    if not _PROGRESS.search(bare):
        return False
    if _EARLIER.search(bare):
        return True
    rest = _PROGRESS.sub(" ", bare).split()
    return all(w in _FILLER or w in ("phan", "anh", "cua", "viec", "vu") for w in rest)


def _words(text: str | None) -> list[str]:
    return re.findall(r"[a-z0-9]+", fold(nfc(text or "")))


def small_talk(text: str | None) -> SmallTalk | None:
    """A short message said to the bot rather than a report: a greeting ("Xin chào", "chào
    ad ạ"), thanks ("cảm ơn ad nhiều", "camon"), or a question about the citizen's own reports
    ("mã hồ sơ của tôi là gì vậy?", "quên mã rồi"). Only a short whole message counts: thanks
    or a greeting must be alone with words that merely address or soften ("cảm ơn, đèn đường ở
    kiệt 5 vẫn chưa sửa" is a report); a message with a report code is a lookup instead."""
    if not text or CODE_RE.search(text):
        return None
    words = _words(text)
    if words and len(words) <= _PROGRESS_MAX_WORDS and _asks_progress(" ".join(words)):
        return "my_codes"
    if not words or len(words) > _SMALL_MAX_WORDS:
        return None
    bare = " ".join(words)
    if _MY_CODES.search(bare):
        return "my_codes"
    for kind, pattern in (("thanks", _THANKS), ("greeting", _GREETING)):
        if pattern.search(bare):
            rest = pattern.sub(" ", bare)
            rest = (_GREETING if kind == "thanks" else _THANKS).sub(" ", rest)
            if all(w in _FILLER for w in rest.split()):
                return kind  # type: ignore[return-value]
    return None


# A whole message that only acknowledges ("ok", "vâng", "dạ", "👍").
_ACK = {"ok", "oke", "okie", "okay", "oki", "okela", "vang", "da", "da vang", "vang a", "da a", "u",
        "uh", "uhm", "um", "duoc", "dc", "ok a", "ok nhe", "ok nha", "roi", "biet roi", "da biet",
        "da ro", "ro roi", "ok ad", "ok thanks", "vang ad", "da ad"}


def says_nothing(text: str | None) -> bool:
    """A message that reports nothing: no letter or digit ("👍", "🙏🙏", "..."), a bare
    acknowledgement ("ok", "vâng ạ") or a bare "bỏ qua" / "xong" — with no open question it
    answers one already closed."""
    if not has_words(text):
        return True
    bare = _bare(text or "")
    return bare in _ACK or bare in _SKIP or bare in _DONE


def has_words(text: str | None) -> bool:
    """Whether the text has a letter or a digit (not only emoji, stickers' text or punctuation)."""
    return any(ch.isalnum() for ch in text or "")


# "Vẫn còn rác", "chưa dọn hết", "lại bị tắc", "tái diễn": the citizen says the result does not
# hold (folded, so with or without diacritics).
_DISPUTE = re.compile(
    r"\b(van (con|chua|bi|the|nhu cu)|chua (duoc )?(xu ly|sua|don|xong|het|khac phuc|thu gom|"
    r"giai quyet|lam|vot|nao vet|thay)|lai (bi|xay ra|tac|hong|ngap|do)|tai dien|"
    r"khong (chinh xac|dung su that)|(ket qua|bao cao) (khong|chua) dung|"
    r"khong (he )?(xu ly|sua|don))\b")


def disputes_result(text: str | None) -> bool:
    """Whether a message about a resolved report says the result does not hold ("Nhưng vẫn còn
    một ít gạch vụn chưa dọn hết ạ", "van chua sua", "hôm nay lại bị tắc")."""
    return bool(_DISPUTE.search(" ".join(_words(text))))
