/**
 * The demo assistant's answers as message parts: a tool call, its result and the text (what
 * `chat.append({ parts })` stores), and back to the cards the page shows.
 */
import { randomUUID } from 'node:crypto';
import type { ChatPart, JsonValue } from 'carebase';
import type { AssistantReply } from './assistant.ts';
import type { ToolRun } from './tools.ts';

/** A tool call and its result, as the page shows them (a collapsible card). */
export interface ToolCard {
  toolCallId: string;
  toolName: string;
  input: JsonValue;
  /** The tool-result part's output; `null` while a call has no result. */
  output: JsonValue;
  isError: boolean;
}

/** Pairs each tool-call part with its tool-result part (by call id), in the order of the calls. */
export function toolCards(parts: readonly ChatPart[] | null): ToolCard[] {
  if (parts === null) return [];
  const results = new Map(
    parts.flatMap((part) => (part.type === 'tool-result' ? [[part.toolCallId, part] as const] : [])),
  );
  return parts.flatMap((part) => {
    if (part.type !== 'tool-call') return [];
    const result = results.get(part.toolCallId);
    return [
      {
        toolCallId: part.toolCallId,
        toolName: part.toolName,
        input: part.input,
        output: result?.output ?? null,
        isError: result?.isError ?? false,
      },
    ];
  });
}

/** A tool run's input and output as JSON values (the formulary's entries are plain strings). */
function json(value: ToolRun['input'] | ToolRun['output']): JsonValue {
  return { ...value };
}

/**
 * The parts of an answer for `chat.append` / `appendMany`: the tool call, its result and the text,
 * when the rule called the tool; nothing otherwise (plain `content` is enough for text).
 */
export function replyParts(reply: AssistantReply): { parts?: ChatPart[] } {
  if (reply.tool === undefined) return {};
  const toolCallId = `call_${randomUUID()}`;
  return {
    parts: [
      { type: 'tool-call', toolCallId, toolName: reply.tool.toolName, input: json(reply.tool.input) },
      { type: 'tool-result', toolCallId, output: json(reply.tool.output), isError: reply.tool.isError },
      { type: 'text', text: reply.content },
    ],
  };
}
