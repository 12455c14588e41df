/**
 * The demo's "assistant": a few nursing keyword rules and a polite fallback. No model and no
 * network, so the example runs anywhere; a real app would call its model here and store the
 * answer the same way.
 */

import { drugLookupFor, lookupAnswer, type ToolRun } from './tools.ts';

/** A canned answer and the name of the rule that produced it (stored as message metadata). */
export interface AssistantReply {
  readonly rule: string;
  readonly content: string;
  /** The tool the rule "called" on the way (stored as tool-call and tool-result parts). */
  readonly tool?: ToolRun;
}

interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
  readonly content: string;
}

const DISCLAIMER = '(Demo answer from a keyword rule, not clinical advice: follow your local policy.)';

const RULES: readonly Rule[] = [
  {
    name: 'pressure-injury',
    pattern: /\b(reposition\w*|turn(ing)? schedule|pressure (injur\w*|ulcer\w*|sore\w*)|bed ?sores?)\b/i,
    content:
      'Pressure-injury prevention: reposition at-risk patients at least every 2 hours (more often ' +
      'on a standard mattress), check the skin over bony prominences at each turn, keep the skin ' +
      'clean and dry, use a pressure-redistributing surface, and record a Braden score on admission ' +
      'and whenever the condition changes.',
  },
  {
    name: 'falls-risk',
    pattern: /\b(falls?|fell|falling|slipped)\b/i,
    content:
      'Falls risk: assess on admission and after any change (e.g. with the Morse Fall Scale), keep ' +
      'the bed low and the call bell in reach, review sedating medicines, make sure footwear and ' +
      'lighting are safe, and after a fall check for injury before moving the patient and inform the ' +
      'doctor.',
  },
  {
    name: 'hand-hygiene',
    pattern: /\b(hand hygiene|hand ?wash\w*|infection control|gloves?)\b/i,
    content:
      'Hand hygiene: the WHO 5 moments are before touching a patient, before a clean or aseptic ' +
      'procedure, after body-fluid exposure risk, after touching a patient, and after touching their ' +
      'surroundings. Use alcohol rub unless hands are visibly soiled or with C. difficile.',
  },
  {
    name: 'medication',
    pattern: /\b(dose|dosage|medication|medicine|drug|mg)\b/i,
    content:
      'Medication questions: check the prescription against the local formulary, confirm the 5 ' +
      'rights (patient, drug, dose, route, time), and ask the pharmacist when in doubt. This demo ' +
      'does not give doses.',
  },
];

/** The demo's price list: made-up dollars per million tokens, as a real provider would bill. */
export const DEMO_MODEL = {
  provider: 'demo',
  model: 'keyword-rules-1',
  /** US dollars per million input tokens. */
  inputPerMillion: 2,
  /** US dollars per million output tokens. */
  outputPerMillion: 8,
} as const;

/** What a model call "cost": made-up token counts (4 characters a token) and an exact USD price. */
export interface DemoUsage {
  readonly provider: string;
  readonly model: string;
  readonly inputTokens: number;
  readonly outputTokens: number;
  /** An exact decimal string (no floating point), e.g. `'0.000312'`. */
  readonly cost: string;
  readonly currency: 'USD';
  readonly latencyMs: number;
  readonly status: 'ok';
}

/** The usage of answering `question` with `answer`, for `chat.append({ usage })`. */
export function assistantUsage(question: string, answer: string, latencyMs: number): DemoUsage {
  const inputTokens = Math.ceil(question.length / 4);
  const outputTokens = Math.ceil(answer.length / 4);
  // Micro-dollars are integers here, so the decimal string is exact.
  const micros = inputTokens * DEMO_MODEL.inputPerMillion + outputTokens * DEMO_MODEL.outputPerMillion;
  const cost = `${Math.floor(micros / 1_000_000)}.${String(micros % 1_000_000).padStart(6, '0')}`;
  return {
    provider: DEMO_MODEL.provider,
    model: DEMO_MODEL.model,
    inputTokens,
    outputTokens,
    cost,
    currency: 'USD',
    latencyMs: Math.max(0, Math.round(latencyMs)),
    status: 'ok',
  };
}

/** How a regenerated answer starts (a real model would word it differently; the rules only reframe). */
const RETRY_OPENERS = [
  'Here is the same advice put another way.',
  'In short, the key points again.',
  'One more way to look at it.',
];

/**
 * Answers `question`: a formulary lookup when it names a drug (the one tool), else the first
 * matching rule, else a polite fallback. `attempt` > 0 is a regeneration: the same facts, reframed.
 */
export function assistantReply(question: string, attempt = 0): AssistantReply {
  const reply = firstAnswer(question);
  if (attempt === 0) return reply;
  const opener = RETRY_OPENERS[(attempt - 1) % RETRY_OPENERS.length];
  return { ...reply, content: `${opener} (Answer ${attempt + 1}.)\n\n${reply.content}` };
}

function firstAnswer(question: string): AssistantReply {
  const tool = drugLookupFor(question);
  if (tool !== undefined) {
    return { rule: 'formulary-lookup', content: `${lookupAnswer(tool)}\n\n${DISCLAIMER}`, tool };
  }
  for (const rule of RULES) {
    if (rule.pattern.test(question)) return { rule: rule.name, content: `${rule.content}\n\n${DISCLAIMER}` };
  }
  return {
    rule: 'fallback',
    content:
      'Thank you for your question. This demo assistant only knows a few topics: repositioning and ' +
      'pressure injuries, falls risk, hand hygiene, medication checks and the doses in a small ' +
      'formulary (e.g. paracetamol). Try asking about one of those, or contact the nurse in charge.',
  };
}
