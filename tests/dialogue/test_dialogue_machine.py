"""The intake dialogue state machine (normalizer/dialogue.py): every transition of its whole
finite state space checked exhaustively, and runs of messages checked with hypothesis."""
from __future__ import annotations

from itertools import permutations

from hypothesis import given, settings
from hypothesis import strategies as st

from normalizer.dialogue import (
    SLOTS,
    Dialogue,
    Step,
    advance,
    close,
    find_code,
    intent_of,
    looks_like_place,
    lookup_code,
    start,
)

INTENTS = ("content", "skip", "done")
SUBSETS = [frozenset(s for i, s in enumerate(SLOTS) if mask >> i & 1) for mask in range(8)]
ORDERED = [p for n in range(4) for combo in permutations(SLOTS, n) for p in [combo]]


def all_states():
    for asked in ORDERED:
        for skipped in SUBSETS:
            for pending in (None, *SLOTS):
                for done in (False, True):
                    yield Dialogue(asked=asked, skipped=skipped, pending=pending, done=done)


def reachable(state: Dialogue) -> bool:
    """States a run can produce: skipped ⊆ asked, the open question is the last asked, nothing
    open once done. (The slot order holds when what a report has only grows: see the runs.)"""
    return (state.skipped <= set(state.asked)
            and (state.pending is None or (state.asked and state.asked[-1] == state.pending))
            and not (state.done and state.pending))


def test_every_transition_of_the_whole_state_space():
    checked = 0
    for state in all_states():
        for have in SUBSETS:
            for askable in SUBSETS:
                for intent in INTENTS:
                    step = advance(state, have, intent, askable)
                    _check_step(state, have, askable, intent, step, strict=reachable(state))
                    checked += 1
        closed = close(state)
        assert closed.state.done and closed.ask is None
        assert closed.finished == (not state.done)
        if reachable(state):
            assert closed.state.pending is None
    assert checked == 16 * 8 * 4 * 2 * 8 * 8 * 3


def _check_step(before: Dialogue, have, askable, intent, step: Step, strict: bool) -> None:
    after = step.state
    if before.done:  # a finished dialogue never moves again
        assert step == Step(before)
        return
    # Nothing is asked twice, only what the channel can ask and the report lacks.
    if step.ask is not None:
        assert step.ask not in before.asked
        assert step.ask in askable and step.ask not in have
        assert after.pending == step.ask and after.asked == (*before.asked, step.ask)
        assert not step.finished and not after.done
    else:
        assert after.asked == before.asked
    # One open question at most: an unanswered, unskipped open question blocks any new one.
    if (before.pending is not None and before.pending not in have
            and intent == "content"):
        assert step == Step(before)
    # "xong" ends at once; skipping records the open question.
    if intent == "done":
        assert after.done and step.finished and step.ask is None and after.pending is None
    if intent == "skip" and before.pending is not None and before.pending not in have:
        assert before.pending in after.skipped
    # Finishing is the only way to done; done means nothing is open.
    assert after.done == (before.done or step.finished)
    if after.done:
        assert after.pending is None
    if strict:
        assert reachable(after), (before, have, askable, intent, after)
        # The dialogue finishes by itself only when nothing is left to ask.
        if step.finished and intent != "done":
            left = [s for s in SLOTS if s in askable and s not in have and s not in after.asked]
            assert left == []


def test_start_asks_the_first_missing_slot_in_order():
    assert start(set()).ask == "place"
    assert start({"place"}).ask == "photo"
    assert start({"place", "photo"}).ask == "phone"
    done = start(set(SLOTS))
    assert done.finished and done.ask is None and done.state.done
    assert start(set(), askable={"phone"}).ask == "phone"
    assert start({"phone"}, askable={"phone"}).finished


@st.composite
def runs(draw):
    askable = draw(st.sets(st.sampled_from(SLOTS)))
    have0 = draw(st.sets(st.sampled_from(SLOTS)))
    turns = draw(st.lists(st.tuples(st.sets(st.sampled_from(SLOTS)),
                                    st.sampled_from(INTENTS)), max_size=12))
    return frozenset(askable), frozenset(have0), turns


@settings(max_examples=400, deadline=None)
@given(runs())
def test_a_run_of_messages(run):
    askable, have, turns = run
    step = start(have, askable)
    asked = [step.ask] if step.ask else []
    finished = int(step.finished)
    state = step.state
    stored = state.to_dict()
    for extra, intent in turns:
        have = have | extra  # what a report has only grows
        state = Dialogue.from_dict(stored)  # through storage, as the hub does
        step = advance(state, have, intent, askable)
        if step.ask:
            asked.append(step.ask)
            # One question at a time: the previous one was answered or skipped first.
            assert state.pending is None or state.pending in have or intent == "skip"
        finished += int(step.finished)
        stored = step.state.to_dict()
    last = close(Dialogue.from_dict(stored))
    finished += int(last.finished)
    assert len(asked) == len(set(asked))                       # never twice
    assert [SLOTS.index(s) for s in asked] == sorted(SLOTS.index(s) for s in asked)
    assert set(asked) <= askable
    assert finished == 1                                       # routed exactly once
    assert last.state.done


@settings(max_examples=200, deadline=None)
@given(st.sets(st.sampled_from(SLOTS)), st.sets(st.sampled_from(SLOTS)))
def test_a_citizen_who_answers_everything_is_done_within_three_answers(have0, askable):
    step = start(have0, askable)
    have = set(have0)
    for _ in range(len(SLOTS)):
        if step.finished:
            break
        have.add(step.ask)
        step = advance(step.state, have, "content", askable)
    assert step.finished and step.state.done
    assert not step.state.skipped


@settings(max_examples=200, deadline=None)
@given(st.sets(st.sampled_from(SLOTS)))
def test_a_citizen_who_skips_everything_is_asked_each_missing_slot_once(have0):
    step = start(have0)
    asked = [step.ask] if step.ask else []
    while not step.finished:
        step = advance(step.state, have0, "skip")
        if step.ask:
            asked.append(step.ask)
    assert asked == [s for s in SLOTS if s not in have0]
    assert step.state.skipped == frozenset(asked)


def test_storage_round_trip_and_junk():
    state = Dialogue(asked=("place", "photo"), skipped=frozenset({"place"}), pending="photo")
    assert Dialogue.from_dict(state.to_dict()) == state
    assert Dialogue.from_dict(None) is None
    assert Dialogue.from_dict({"asked": ["place", "evil", "place"], "pending": "x"}) == Dialogue(
        asked=("place",))


def test_what_the_citizen_means():
    for text in ("bỏ qua", "Bỏ qua.", "bo qua", "BỎ QUA!", "không có", "ko", "Không"):
        assert intent_of(text) == "skip", text
    for text in ("xong", "Xong rồi", "đủ rồi", "hết rồi.", "/done"):
        assert intent_of(text) == "done", text
    for text in ("không có ai dọn rác", "xong việc mới đến", "rác ở kiệt 5", "", None):
        assert intent_of(text) == "content", text


def test_place_answers():
    for text in ("kiệt 5 Ngự Bình", "12 Lê Lợi", "gần chợ Đông Ba", "Phường Thuận Hóa",
                 "đường Hùng Vương đoạn trước trường", "5/3 Trần Phú", "số 25 trần phú",
                 "lề đường Lê Lợi", "16.4637, 107.5909"):
        assert looks_like_place(text), text
    # a number or a street-thing alone is not an address (left by the dialogue walkthrough:
    # "2 ngày rồi" and "đèn đường hỏng" answering "where?" became the report's address)
    for text in ("rác nhiều lắm", "bốc mùi", "", "cảm ơn", "2 ngày rồi", "lúc 9 giờ tối",
                 "đèn đường hỏng 3 hôm nay", "mặt đường bị lún", "lòng đường ngập"):
        assert not looks_like_place(text), text


def test_lookups():
    code = "PA-2026-000123"
    for text in (f"tra cứu {code}", f"Tra cuu {code.lower()}", f"/status {code}", code,
                 f" {code}. ", f"mã: {code}", f"/status@hue_bot {code}", f"Tra cứu #{code}?"):
        assert lookup_code(text) == code, text
    for text in (f"rác ở kiệt gần {code}", "tra cứu", "PA-2026-12", "", None):
        assert lookup_code(text) is None, text
    assert lookup_code(f"Cho tôi hỏi phản ánh {code} tới đâu rồi", loose=True) == code
    assert find_code(f"Re: [#{code.lower()}] Đã tiếp nhận") == code
