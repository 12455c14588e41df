/**
 * The demo assistant's one "tool": a lookup in a small, made-up ward formulary. It stands for the
 * tools a real model calls (a drug database, a lab system); the app stores each call and its
 * result as `tool-call` / `tool-result` message parts, which the page shows as collapsible cards.
 */

/** One entry of the demo formulary (adult reference figures, for the demo only). */
export interface FormularyEntry {
  readonly drug: string;
  readonly drugClass: string;
  readonly route: string;
  readonly usualAdultDose: string;
  readonly maxPer24h: string;
  readonly caution: string;
}

const FORMULARY: readonly FormularyEntry[] = [
  {
    drug: 'paracetamol',
    drugClass: 'analgesic / antipyretic',
    route: 'oral, IV',
    usualAdultDose: '0.5-1 g every 4-6 hours',
    maxPer24h: '4 g (lower in low body weight or liver disease)',
    caution: 'check all sources of paracetamol (combination products)',
  },
  {
    drug: 'ibuprofen',
    drugClass: 'NSAID',
    route: 'oral',
    usualAdultDose: '200-400 mg every 6-8 hours with food',
    maxPer24h: '1.2 g without prescriber advice',
    caution: 'renal impairment, GI bleeding, asthma',
  },
  {
    drug: 'amoxicillin',
    drugClass: 'penicillin antibiotic',
    route: 'oral, IV',
    usualAdultDose: '500 mg every 8 hours',
    maxPer24h: 'as prescribed',
    caution: 'penicillin allergy',
  },
  {
    drug: 'enoxaparin',
    drugClass: 'low-molecular-weight heparin',
    route: 'subcutaneous',
    usualAdultDose: 'prophylaxis 40 mg once daily',
    maxPer24h: 'as prescribed (weight and renal function)',
    caution: 'bleeding risk, platelet count',
  },
];

/** The name the tool is stored under in `tool-call` parts. */
export const DRUG_LOOKUP_TOOL = 'formulary_lookup';

/** A tool call's input and its result, ready to store as message parts. */
export interface ToolRun {
  readonly toolName: string;
  readonly input: { readonly drug: string };
  readonly output: FormularyEntry | { readonly error: string };
  readonly isError: boolean;
}

const KNOWN = new RegExp(`\\b(${FORMULARY.map((entry) => entry.drug).join('|')})\\b`, 'i');
const ASKED = /\b(?:dose|dosage|dosing|maximum)\s+(?:of|for)\s+([a-z][a-z-]{2,40})\b/i;
/** Words after "dose of" that are not a drug ("the dose for this patient"). */
const NOT_A_DRUG = new Set([
  'the',
  'this',
  'that',
  'these',
  'his',
  'her',
  'their',
  'our',
  'your',
  'each',
  'every',
  'patient',
  'patients',
]);

/**
 * The lookup the question calls for: a formulary drug it names, or the drug after "dose of";
 * undefined when it asks about no drug. An unknown drug is a failed call (`isError`).
 */
export function drugLookupFor(question: string): ToolRun | undefined {
  const drug = (KNOWN.exec(question)?.[1] ?? ASKED.exec(question)?.[1])?.toLowerCase();
  if (drug === undefined || NOT_A_DRUG.has(drug)) return undefined;
  const entry = FORMULARY.find((candidate) => candidate.drug === drug);
  return entry === undefined
    ? {
        toolName: DRUG_LOOKUP_TOOL,
        input: { drug },
        output: { error: 'not in the demo formulary' },
        isError: true,
      }
    : { toolName: DRUG_LOOKUP_TOOL, input: { drug }, output: entry, isError: false };
}

/** The assistant's answer text for a lookup: the figures it found, or where to ask instead. */
export function lookupAnswer(run: ToolRun): string {
  if (run.isError || !('usualAdultDose' in run.output)) {
    return (
      `I looked up "${run.input.drug}" in the ward formulary: it is not in the demo table. Check the ` +
      'prescription against the local formulary and ask the pharmacist.'
    );
  }
  const entry = run.output;
  return (
    `Formulary lookup for ${entry.drug} (${entry.drugClass}, ${entry.route}): usual adult dose ` +
    `${entry.usualAdultDose}; maximum in 24 hours ${entry.maxPer24h}. Caution: ${entry.caution}. ` +
    'Always check the prescription and the 5 rights before giving it.'
  );
}
