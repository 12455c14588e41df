import type { ResolvedChatOptions } from '../../config/chat-options.js';
import { ValidationError, type ValidationIssue } from '../../errors/errors.js';
import { checkJson } from '../../validation/json.js';
import { CHAT_PARTS_VERSION, type ChatPart } from './chat-parts.js';

/** A message's parts as stored in `chat_messages.parts` (and in a sealed row's envelope). */
export interface StoredParts {
  readonly v: number;
  readonly parts: readonly ChatPart[];
}

/** `parts[3].input` style, for messages (the issue's path stays an array). */
function display(path: readonly (string | number)[]): string {
  return path.reduce<string>(
    (text, key) => (typeof key === 'number' ? `${text}[${key}]` : text === '' ? key : `${text}.${key}`),
    '',
  );
}

function refuse(path: readonly (string | number)[], message: string, code: string): never {
  const issue: ValidationIssue = { path: [...path], message, code };
  throw new ValidationError(`invalid message at ${display(path)}: ${message}`, [issue]);
}

/** Bytes of a `data:` URL's payload (what it would embed), or undefined for other URLs. */
function inlineBytes(url: string | undefined): number | undefined {
  if (url === undefined || !/^data:/i.test(url)) return undefined;
  return Buffer.byteLength(url, 'utf8');
}

/**
 * Checks schema-valid `parts` (at `path`, e.g. `[2, 'parts']` in a batch) against the configured
 * limits: count (`maxParts`), each JSON value's depth and size (`maxPartJsonDepth`,
 * `maxPartJsonBytes`), inline `data:` URLs (`maxInlineFileBytes`), the whole array's size
 * (`maxPartsBytes`). Throws `ValidationError` naming the part (`parts[3].input`), never its value.
 * Returns the serialized stored form (`{"v":1,"parts":[...]}`).
 */
export function checkParts(
  parts: readonly ChatPart[],
  options: ResolvedChatOptions,
  path: readonly (string | number)[],
): string {
  if (parts.length > options.maxParts) {
    refuse(path, `more than chat.maxParts (${options.maxParts}) parts`, 'too_big');
  }
  const limits = { maxDepth: options.maxPartJsonDepth, maxBytes: options.maxPartJsonBytes };
  parts.forEach((part, index) => {
    const at = (field: string) => [...path, index, field];
    const json = (field: string, value: unknown) => {
      const checked = checkJson(value, limits);
      if ('message' in checked) refuse([...at(field), ...checked.path], checked.message, checked.code);
    };
    switch (part.type) {
      case 'tool-call':
        json('input', part.input);
        break;
      case 'tool-result':
        json('output', part.output);
        break;
      case 'data':
        json('data', part.data);
        break;
      case 'file':
      case 'source': {
        const bytes = inlineBytes(part.url);
        if (bytes !== undefined && bytes > options.maxInlineFileBytes) {
          refuse(
            at('url'),
            `a data: URL above chat.maxInlineFileBytes (${options.maxInlineFileBytes}): store the file and pass storageKey or a link`,
            'too_big',
          );
        }
        break;
      }
      default:
        break;
    }
  });
  const stored: StoredParts = { v: CHAT_PARTS_VERSION, parts };
  const text = JSON.stringify(stored);
  if (Buffer.byteLength(text, 'utf8') > options.maxPartsBytes) {
    refuse(path, `more than chat.maxPartsBytes (${options.maxPartsBytes}) bytes of JSON`, 'too_big');
  }
  return text;
}
