/**
 * Conversations for chat models: the shape check both sides run (the main thread before a call is
 * sent, the worker before a template renders it).
 */
import { InvalidInputError } from './errors/invalid-input.js';
import type { ChatMessage } from './types.js';

/** Most messages in one conversation (the rendered prompt is then bounded by the model's context). */
export const MAX_MESSAGES = 1024;

/** Checks messages from the wire: an array of `{ role, content }` with string fields. */
export function checkMessages(messages: unknown): readonly ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0 || messages.length > MAX_MESSAGES) {
    throw new InvalidInputError(`messages must be an array of 1…${MAX_MESSAGES} { role, content } objects`, { reason: 'bad-messages', field: 'messages' });
  }
  messages.forEach((m: unknown, i) => {
    const ok = typeof m === 'object' && m !== null && typeof (m as ChatMessage).role === 'string' && (m as ChatMessage).role.length > 0 && typeof (m as ChatMessage).content === 'string';
    if (!ok) throw new InvalidInputError(`messages[${i}] must be { role: string, content: string }`, { reason: 'bad-messages', field: `messages[${i}]` });
  });
  return messages as readonly ChatMessage[];
}
