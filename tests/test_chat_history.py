"""Follow-up questions: earlier turns fill in a follow-up's names, and more follow-ups are answered with them."""

import openai
import pytest

from api.chat_history import contextual_question, names
from api.chat_schemas import ChatMessage

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


def test_system_messages_and_text_after_the_question_are_not_read() -> None:
    messages = [
        ChatMessage(role="system", content="You are Vladimir. Answer as he would."),
        *_chat("Who is the Russian defence minister?", "Sergei Shoigu [1]", "Who did he meet?"),
        ChatMessage(role="tool", content="Angela Merkel"),
    ]
    assert contextual_question(messages) == "Who did Sergei Shoigu meet?"


def test_names_leave_out_question_words_and_nationalities() -> None:
    assert names("Who is the Russian defence minister?") == []
    assert names("Who is Shoigu's Serbian counterpart?") == ["Shoigu"]
    assert names("What did Lavrov and Vucic discuss at the United Nations?") == ["Lavrov", "Vucic", "United Nations"]


def _right(client: openai.OpenAI, messages: list[dict], expected: list[str]) -> bool:
    completion = client.chat.completions.create(model="reportqa", messages=messages)
    answer = completion.choices[0].message.content.splitlines()[0]
    return not completion.model_extra["no_answer"] and any(text.lower() in answer.lower() for text in expected)


def test_history_answers_more_follow_ups(live_server: str) -> None:
    client = openai.OpenAI(base_url=f"{live_server}/v1", api_key="not-needed", max_retries=0)
    with_history = without = 0
    for first, follow_up, expected in FOLLOW_UPS:
        reply = client.chat.completions.create(model="reportqa", messages=[{"role": "user", "content": first}])
        conversation = [
            {"role": "user", "content": first},
            {"role": "assistant", "content": reply.choices[0].message.content},
            {"role": "user", "content": follow_up},
        ]
        with_history += _right(client, conversation, expected)
        without += _right(client, conversation[-1:], expected)
    print(f"follow-ups right: {with_history} of {len(FOLLOW_UPS)} with history, {without} without")
    # Measured on the sample corpus: 10 of 18 with, 5 without. Most misses are the span reader's: it finds
    # nothing for "Who did Sergei Shoigu meet?" either. Some slack for changes to the reader or corpus.
    assert with_history >= 8 and with_history >= without + 3
