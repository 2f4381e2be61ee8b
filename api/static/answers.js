// Asking: the best answer as a headline above the rest, each with its confidence and a numbered source card.
import { api } from "./api.js";
import { $, counted, el, highlighted, joined, showError } from "./dom.js";
import { isCurrent, navigate } from "./state.js";

const results = new Map(); // answers already fetched, by question and filters: Back shows them again at once
let shownKey = null;

function keyOf(state) {
  return JSON.stringify([state.q, state.from, state.to, state.source]);
}

// Forget the answers to `state`'s question, so that asking it again asks the service.
export function forget(state) {
  results.delete(keyOf(state));
  if (shownKey === keyOf(state)) shownKey = null;
}

// The reports changed (or the key did): every answer is asked afresh.
export function answersChanged() {
  results.clear();
  shownKey = null;
}

export function clearAnswers() {
  $("answers").replaceChildren();
  $("status").textContent = "";
  shownKey = null;
}

// Show the answers to `state.q`, asking the service unless they are already known.
export async function showAnswers(state, generation) {
  const key = keyOf(state);
  if (key === shownKey) return;
  let result = results.get(key);
  if (!result) {
    clearAnswers();
    $("status").textContent = "Searching the reports…";
    $("ask-button").disabled = true;
    try {
      result = await api("/v1/ask", {
        method: "POST",
        body: JSON.stringify({ question: state.q, filters: filters(state) }),
      });
      results.set(key, result);
    } catch (error) {
      if (isCurrent(generation)) {
        $("status").textContent = "";
        showError(error.message);
      }
      return;
    } finally {
      $("ask-button").disabled = false;
    }
  }
  if (!isCurrent(generation)) return;
  renderAnswers(state, result);
  shownKey = key;
}

function filters(state) {
  const chosen = {};
  if (state.from) chosen.date_from = state.from;
  if (state.to) chosen.date_to = state.to;
  if (state.source) chosen.sources = [state.source];
  return chosen;
}

function renderAnswers(state, result) {
  $("answers").replaceChildren();
  if (result.no_answer) {
    $("status").textContent = "No answer found in the indexed reports. Try other words, or widen the filters.";
    return;
  }
  $("status").textContent = `${counted(result.answers.length, "answer")}, best first.`;
  result.answers.forEach((answer, index) => $("answers").append(answerItem(state, answer, index)));
}

// "high", "medium" or "low", from the reader's calibrated probability that the answer is right.
export function confidence(score) {
  if (score >= 0.75) return "high";
  if (score >= 0.5) return "medium";
  return "low";
}

function answerItem(state, answer, index) {
  const cite = answer.citation;
  const level = confidence(answer.score);
  const item = el("li", { className: `answer ${level}${index === 0 ? " best" : ""}` });
  if (index === 0) item.append(el("p", { className: "kicker" }, "Best answer"));
  const quote = el("blockquote", { className: "context" });
  quote.append(highlighted(cite.context, cite.start - cite.context_start, cite.end - cite.context_start));
  const meter = el("meter", { min: 0, max: 1, low: 0.5, high: 0.75, optimum: 1, value: answer.score });
  meter.setAttribute("aria-hidden", "true");
  const label = el(
    "p",
    { className: `confidence ${level}` },
    meter,
    el("span", { className: "level" }, `${level[0].toUpperCase()}${level.slice(1)} confidence`),
    el("span", { className: "score" }, `Score ${Math.round(answer.score * 100)}%`),
  );
  item.append(
    el("p", { className: "answer-text" }, answer.text),
    quote,
    el("div", { className: "answer-foot" }, label, sourceCard(state, answer, index)),
  );
  return item;
}

function sourceCard(state, answer, index) {
  const cite = answer.citation;
  const title = cite.title || cite.document_id;
  const card = el(
    "button",
    { type: "button", className: "cite source-card" },
    el("span", { className: "card-number" }, String(index + 1)),
    el(
      "span",
      { className: "card-body" },
      el("span", { className: "card-title" }, title),
      el("span", { className: "card-meta" }, joined(cite.date || "undated", cite.source)),
    ),
  );
  card.setAttribute("aria-label", `Source ${index + 1}: open the report ${title} at the cited passage`);
  card.addEventListener("click", () =>
    navigate({ ...state, doc: cite.document_id, start: cite.start, end: cite.end, text: answer.text }),
  );
  return card;
}
