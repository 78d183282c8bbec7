/**
 * Chat templates: a list of messages → the prompt text a chat model was trained on, rendered with
 * the model's own `chat_template` (from `tokenizer_config.json`) the way transformers'
 * `apply_chat_template` does. The template language is Hugging Face's JavaScript Jinja,
 * `@huggingface/jinja` (MIT, no dependencies; what transformers.js uses).
 *
 * The rendered text carries its own special tokens (`<s>`, `<|im_start|>`, …), so it is tokenized
 * without the tokenizer's post-processor (no second `<s>`).
 */
import { Template } from '@huggingface/jinja';
import { InvalidInputError } from '../../src/shared/errors/invalid-input.js';
import { checkMessages } from '../../src/shared/chat.js';
import type { TextTokenizer } from './tokenizer.js';

const templates = new WeakMap<TextTokenizer, Template>();

/**
 * Renders a conversation with the tokenizer's chat template.
 *
 * @example
 * renderChat(tokenizer, [{ role: 'user', content: 'Hello!' }]);
 * // '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n<|im_start|>assistant\n'
 */
export function renderChat(tokenizer: TextTokenizer, messages: unknown, options: { addGenerationPrompt?: boolean } = {}): string {
  const list = checkMessages(messages);
  const source = tokenizer.chatTemplate;
  if (source === undefined) {
    throw new InvalidInputError('this model has no chat template (tokenizer_config.json has no chat_template): pass a prompt string instead of messages', { reason: 'no-chat-template', field: 'messages' });
  }
  let template = templates.get(tokenizer);
  if (!template) {
    try {
      template = new Template(source);
    } catch (e) {
      throw new InvalidInputError(`this model's chat template does not parse: ${e instanceof Error ? e.message : String(e)}`, { reason: 'bad-chat-template', field: 'messages' }, { cause: e });
    }
    templates.set(tokenizer, template);
  }
  try {
    return template.render({
      messages: list.map((m) => ({ role: m.role, content: m.content })),
      add_generation_prompt: options.addGenerationPrompt !== false,
      bos_token: tokenizer.bosToken ?? '',
      eos_token: tokenizer.eosToken ?? '',
    });
  } catch (e) {
    // Includes the template's own raise_exception('…'), which @huggingface/jinja throws as an Error.
    throw new InvalidInputError(`the chat template refused these messages: ${e instanceof Error ? e.message : String(e)}`, { reason: 'chat-template', field: 'messages' }, { cause: e });
  }
}
