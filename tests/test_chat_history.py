"""Follow-up questions: earlier turns fill in a follow-up's names, and more follow-ups are answered with them."""

import openai
import pytest

from api.chat_history import contextual_question, names
from api.chat_schemas import ChatMessage
from api.responses_schemas import ResponsesIn

# Follow-ups over the sample reports (TASS: Lavrov meets Vucic at the UN; Sputnik: Shoigu meets his Serbian
# counterpart Djordjevic): the first question, the follow-up, and texts any of which the answer must contain.
FOLLOW_UPS = [
    # Written first, before measuring.
    ("Who is the Russian defence minister?", "Who did he meet?", ["Djordjevic"]),
    ("Who is the Russian foreign minister?", "Who did he meet?", ["Vucic"]),
    ("What did Vucic say about NATO?", "Who did he meet?", ["Lavrov"]),
    ("Who won the presidential election of Serbia?", "What does his country want to keep?", ["military neutrality"]),
    ("When did Lavrov meet Vucic?", "Where did they meet?", ["United Nations", "sidelines"]),
    ("Who is Shoigu's Serbian counterpart?", "Who did he meet in February 2017?", ["Fomin"]),
    ("Who is the Serbian president?", "What did he call Russia?", ["true friend"]),
    (
        "Who is the Russian defence minister?",
        "What did he say about color revolutions?",
        ["anything good", "democracy"],
    ),
    ("What did Lavrov and Vucic discuss?", "What did they agree on?", ["cooperation", "investment", "Kosovo"]),
    ("Who is the Russian defence minister?", "Who did he congratulate?", ["Vucic"]),
    ("What conference is Shoigu attending?", "When will it take place?", ["Wednesday"]),
    ("Who did Lavrov meet?", "And Shoigu?", ["Djordjevic"]),
    # Added after seeing the reader miss many of those even with the names filled in.
    ("What does Vucic want to keep?", "And Serbia?", ["military neutrality"]),
    ("Who is the Russian defence minister?", "How does he consider Belgrade?", ["reliable", "partner"]),
    ("Who is the Russian foreign minister?", "Who did he meet at the UN General Assembly?", ["Vucic"]),
    ("Who is the Russian defence minister?", "Who is his Serbian counterpart?", ["Djordjevic"]),
    ("Who is the Russian defence minister?", "Who did he ask to congratulate Vucic?", ["counterpart", "Djordjevic"]),
    ("What has Serbia expressed interest in buying?", "What did Russia propose to them?", ["military alliance"]),
]
# Follow-ups that lean on the previous turn with "it", "this" or "that", written before the rewriting was.
IT_FOLLOW_UPS = [
    ("What conference is Shoigu attending?", "What will it focus on?", ["terrorism"]),
    ("What conference is Shoigu attending?", "Who will it bring together?", ["defense ministers"]),
    ("Where did Lavrov meet Vucic?", "When did that happen?", ["Tuesday"]),
    ("When did Lavrov meet Vucic?", "Where did it happen?", ["sidelines", "United Nations"]),
    ("Who will the conference bring together?", "When will it take place?", ["Wednesday"]),
    ("What did Shoigu and Djordjevic meet ahead of?", "When will it take place?", ["Wednesday"]),
    (
        "What has Serbia repeatedly expressed interest in buying?",
        "What did Russia say about that?",
        ["ready to provide", "necessary equipment"],
    ),
    ("When did Djordjevic meet Fomin?", "What was discussed at that meeting?", ["cooperation"]),
    ("What does Serbia have no plans to join?", "Who said that?", ["Vucic"]),
]


def _chat(*turns: str) -> list[ChatMessage]:
    return [ChatMessage(role="user" if i % 2 == 0 else "assistant", content=turn) for i, turn in enumerate(turns)]


@pytest.mark.parametrize(
    ("turns", "asked"),
    [
        (
            ("Who is the Russian defence minister?", "Sergei Shoigu [1]\n\nSources: ...", "Who did he meet?"),
            "Who did Sergei Shoigu meet?",
        ),
        # The answer is no name: the previous question's name stands in.
        (
            ("What did Vucic say about NATO?", "I found no answer to this question.", "Who did he meet?"),
            "Who did Vucic meet?",
        ),
        (
            ("Who won the presidential election of Serbia?", "Aleksandar Vucic [1]", "What does his country want?"),
            "What does Aleksandar Vucic's country want?",
        ),
        (("When did Lavrov meet Vucic?", "on Tuesday [1]", "Where did they meet?"), "Where did Lavrov and Vucic meet?"),
        (("Who did Lavrov meet?", "Aleksandar Vucic [1]", "And Shoigu?"), "Who did Shoigu meet?"),
        (("Who did Lavrov meet?", "Aleksandar Vucic [1]", "What about Shoigu?"), "Who did Shoigu meet?"),
        # A third turn leans on the second one, rewritten.
        (
            (
                "Who is the Russian foreign minister?",
                "Sergey Lavrov [1]",
                "Who did he meet?",
                "Serbian President Aleksandar Vucic [1]",
                "Where did they meet?",
            ),
            "Where did Serbian President Aleksandar Vucic and Sergey Lavrov meet?",
        ),
        # Not follow-ups, or nothing to fill in: asked as written.
        (("Who is the Russian defence minister?",), "Who is the Russian defence minister?"),
        (
            ("Who is the Serbian president?", "Aleksandar Vucic [1]", "What did Shoigu say when he met him?"),
            "What did Shoigu say when he met him?",
        ),
        (("What is the weather?", "I found no answer.", "Where did they meet?"), "Where did they meet?"),
    ],
)
def test_a_follow_up_is_asked_with_the_names_earlier_turns_gave(turns: tuple[str, ...], asked: str) -> None:
    assert contextual_question(_chat(*turns)) == asked


@pytest.mark.parametrize(
    ("turns", "asked"),
    [
        # The question's noun when its answer was not found; the answer when it was.
        (
            ("What conference is Shoigu attending?", "I found no answer to this question.", "What will it focus on?"),
            "What will the conference focus on?",
        ),
        (
            ("What did Shoigu and Djordjevic meet ahead of?", "the Moscow conference [1]", "When will it start?"),
            "When will the Moscow conference start?",
        ),
        (("Who signed the agreement?", "Vucic [1]", "Where was it signed?"), "Where was the agreement signed?"),
        (
            ("Who won the presidential election?", "Vucic [1]", "When was it held?"),
            "When was the presidential election held?",
        ),
        (
            ("Who will the conference bring together?", "defense ministers [1]", "When will it take place?"),
            "When will the conference take place?",
        ),
        (
            ("Where did Lavrov meet Vucic?", "I found no answer.", "When did that happen?"),
            "When did Lavrov meet Vucic?",
        ),
        (
            ("What does Serbia have no plans to join?", "NATO [1]", "Who said that?"),
            "Who said Serbia have no plans to join NATO?",
        ),
        (
            ("What conference is Shoigu attending?", "the Moscow conference [1]", "When does that conference start?"),
            "When does the Moscow conference start?",
        ),
        # Left alone: "that" before a clause or a noun that is not the thing, a dummy "it", an "it" that likely
        # means its own question's name, a copula question's "that", and nothing to stand for.
        (
            ("What conference is Shoigu attending?", "the Moscow conference [1]", "Who said that Serbia is neutral?"),
            "Who said that Serbia is neutral?",
        ),
        (("What conference is Shoigu attending?", "the Moscow conference [1]", "When was that meeting?"), None),
        (("What conference is Shoigu attending?", "the conference [1]", "Who said that the conference is on?"), None),
        (("What conference is Shoigu attending?", "the Moscow conference [1]", "Is it true that Vucic won?"), None),
        (
            ("What conference is Shoigu attending?", "the Moscow conference [1]", "Why does Serbia say it is neutral?"),
            None,
        ),
        (("Who is the Russian defence minister?", "Sergei Shoigu [1]", "When did that happen?"), None),
        (("Who is the Russian defence minister?", "Sergei Shoigu [1]", "Where was it signed?"), None),
    ],
)
def test_it_this_and_that_become_the_thing_earlier_turns_were_about(turns: tuple[str, ...], asked: str | None) -> None:
    assert contextual_question(_chat(*turns)) == (asked or turns[-1])


def test_system_messages_and_text_after_the_question_are_not_read() -> None:
    messages = [
        ChatMessage(role="system", content="You are Vladimir. Answer as he would."),
        *_chat("Who is the Russian defence minister?", "Sergei Shoigu [1]", "Who did he meet?"),
        ChatMessage(role="tool", content="Angela Merkel"),
    ]
    assert contextual_question(messages) == "Who did Sergei Shoigu meet?"
    assert contextual_question([messages[0], *_chat("Who did he meet?")]) == "Who did he meet?"


@pytest.mark.parametrize("role", ["system", "developer"])
def test_a_topic_line_in_a_system_message_is_what_a_first_question_is_about(role: str) -> None:
    def asked(topic: str, *turns: str) -> str:
        return contextual_question([ChatMessage(role=role, content=topic), *_chat(*turns)])

    assert asked("Answer from the reports.\ntopic: Sergei Shoigu", "Who did he meet?") == "Who did Sergei Shoigu meet?"
    conference = "Topic: the Moscow conference."
    assert asked(conference, "When will it take place?") == "When will the Moscow conference take place?"
    # A question that names its own subject is asked as written; a later turn's names take over from the topic.
    assert asked(conference, "Who is the Russian defence minister?") == "Who is the Russian defence minister?"
    later = asked(
        "Topic: Sergei Shoigu", "Who is the Russian foreign minister?", "Sergey Lavrov [1]", "Who did he meet?"
    )
    assert later == "Who did Sergey Lavrov meet?"
    # Only a line that starts with "Topic:" is read.
    assert asked("Stay on topic: Sergei Shoigu", "Who did he meet?") == "Who did he meet?"


def test_responses_instructions_are_read_as_a_system_message() -> None:
    body = ResponsesIn(model="reportqa", input="Who did he meet?", instructions="Topic: Sergei Shoigu")
    assert contextual_question(body.messages()) == "Who did Sergei Shoigu meet?"
    assert contextual_question(body.model_copy(update={"instructions": None}).messages()) == "Who did he meet?"


def test_names_leave_out_question_words_and_nationalities() -> None:
    assert names("Who is the Russian defence minister?") == []
    assert names("Who is Shoigu's Serbian counterpart?") == ["Shoigu"]
    assert names("What did Lavrov and Vucic discuss at the United Nations?") == ["Lavrov", "Vucic", "United Nations"]


def _right(client: openai.OpenAI, messages: list[dict], expected: list[str]) -> bool:
    completion = client.chat.completions.create(model="reportqa", messages=messages)
    answer = completion.choices[0].message.content.splitlines()[0]
    return not completion.model_extra["no_answer"] and any(text.lower() in answer.lower() for text in expected)


def _measured(client: openai.OpenAI, follow_ups: list[tuple[str, str, list[str]]]) -> tuple[int, int, list[str]]:
    """Follow-ups answered right with history, and as written alone; and those right alone, wrong with history."""
    with_history = without = 0
    worse = []
    for first, follow_up, expected in follow_ups:
        reply = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": first}])
        conversation = [
            {"role": "user", "content": first},
            {"role": "assistant", "content": reply.choices[0].message.content},
            {"role": "user", "content": follow_up},
        ]
        right, alone = _right(client, conversation, expected), _right(client, conversation[-1:], expected)
        with_history, without = with_history + right, without + alone
        if alone and not right:
            worse.append(follow_up)
    return with_history, without, worse


def test_history_answers_more_follow_ups(live_server: str) -> None:
    client = openai.OpenAI(base_url=f"{live_server}/v1", api_key="not-needed", max_retries=0)
    with_history, without, worse = _measured(client, FOLLOW_UPS)
    print(f"follow-ups right: {with_history} of {len(FOLLOW_UPS)} with history, {without} without")
    it_history, it_without, it_worse = _measured(client, IT_FOLLOW_UPS)
    print(f"it/this/that follow-ups right: {it_history} of {len(IT_FOLLOW_UPS)} with history, {it_without} without")
    # Measured on the sample corpus: 10 of 18 with, 5 without; it/this/that: 7 of 9 with, 4 without (and 4 with
    # history before "it", "this" and "that" were rewritten). Most misses are the span reader's: it finds
    # nothing for "Who did Sergei Shoigu meet?" either. Some slack for changes to the reader or corpus.
    assert with_history >= 8 and with_history >= without + 3
    assert it_history >= 6 and it_history >= it_without + 2
    # Precision: no follow-up answered right as written goes wrong once rewritten.
    assert worse + it_worse == []
