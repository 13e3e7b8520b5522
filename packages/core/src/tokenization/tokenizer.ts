import type { ChatMessage, ChatTool } from './chat-messages.js';

export interface EncodeOptions {
  /**
   * Add the special tokens the tokenizer's post-processor defines (BOS for Llama-like models; nothing
   * for Qwen). Defaults to true, as in Hugging Face `tokenizer.encode` and vLLM's completions API.
   */
  addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop special tokens (`<|im_end|>`, BOS, …) from the text. Defaults to false. */
  skipSpecialTokens?: boolean;
  /**
   * Remove spaces before punctuation (`" ."` → `"."`). Defaults to the tokenizer's
   * `clean_up_tokenization_spaces` setting, as in Hugging Face.
   */
  cleanUpTokenizationSpaces?: boolean;
}

export interface ChatTemplateOptions {
  /** OpenAI-style function tools, rendered by templates that support them (`tools` in the template). */
  tools?: readonly ChatTool[] | undefined;
  /**
   * Append the assistant turn opener (`<|im_start|>assistant\n` for Qwen). Defaults to true because
   * vLLM's chat completions API defaults to true and routing must see the tokens the engine sees.
   */
  addGenerationPrompt?: boolean;
  /** A Jinja template source, or the name of one of the tokenizer's named templates (`tool_use`). */
  chatTemplate?: string;
  /** Extra template variables, such as `{ enable_thinking: false }`; vLLM's `chat_template_kwargs`. */
  templateKwargs?: Readonly<Record<string, unknown>>;
}

/** A tokenizer running in the caller's thread. Every method is synchronous. */
export interface Tokenizer {
  /** Where the tokenizer came from (path or model id); used in messages and as a cache key. */
  readonly name: string;
  /** The model the tokenizer belongs to, such as `Qwen/Qwen3-0.6B`. */
  readonly modelName: string;
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** Render the chat template to the prompt text the engine would tokenize. */
  applyChatTemplate(messages: readonly ChatMessage[], options?: ChatTemplateOptions): string;
}

export interface TokenizeOptions extends EncodeOptions {
  signal?: AbortSignal;
}

export interface RenderChatOptions extends ChatTemplateOptions {
  signal?: AbortSignal;
}

/**
 * The shape every tokenization backend shares: in-process tokenizers, the worker pool and the vLLM
 * render client. Callers that may run a backend out of process code against this interface.
 */
export interface AsyncTokenizer {
  readonly name: string;
  readonly modelName: string;
  /** Token ids of a plain-text prompt (vLLM `/v1/completions` semantics). */
  tokenize(text: string, options?: TokenizeOptions): Promise<number[]>;
  /**
   * Token ids of a chat request: the chat template is rendered and the result tokenized without adding
   * special tokens (the template already holds them), as vLLM does for `/v1/chat/completions`.
   */
  renderChat(messages: readonly ChatMessage[], options?: RenderChatOptions): Promise<number[]>;
}
