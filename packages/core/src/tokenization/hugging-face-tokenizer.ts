import { Tokenizer as TokenizersJs } from '@huggingface/tokenizers';
import { InvalidArgumentError } from '../errors/invalid-argument-error.js';
import { LlmdError } from '../errors/llmd-error.js';
import { parseWithSchema } from '../errors/validation-error.js';
import { type ChatMessage, validateChatRequest } from './chat-messages.js';
import { ChatTemplateRenderer, chatTemplateSources } from './chat-template.js';
import type {
  AsyncTokenizer,
  ChatTemplateOptions,
  DecodeOptions,
  EncodeOptions,
  RenderChatOptions,
  TokenizeOptions,
  Tokenizer,
} from './tokenizer.js';
import {
  type AddedTokenDefinition,
  type TokenizerConfig,
  type TokenizerDefinition,
  tokenizerConfigSchema,
  tokenizerDefinitionSchema,
} from './tokenizer-files.js';

export interface HuggingFaceTokenizerInit {
  /** The parsed content of `tokenizer.json`. */
  tokenizerJson: unknown;
  /** The parsed content of `tokenizer_config.json`, when there is one. */
  tokenizerConfig?: unknown;
  /** The content of a `chat_template.jinja` file; it replaces any template in the config, as in transformers. */
  chatTemplateFile?: string | undefined;
  /** Where the tokenizer came from; appears in error messages and is the `name` of the tokenizer. */
  name: string;
  /** Defaults to `name_or_path` from the config, else to `name`. */
  modelName?: string | undefined;
  /** Paths of the files, named in load errors. */
  tokenizerPath?: string | undefined;
  configPath?: string | undefined;
}

/** Ids together with the token strings the model produced (byte-level strings for GPT-style models). */
export interface EncodedTokens {
  ids: number[];
  tokens: string[];
}

/**
 * An in-process tokenizer backed by `@huggingface/tokenizers` (pure JavaScript) with chat templates
 * rendered by `@huggingface/jinja`. It is both a synchronous {@link Tokenizer} and an
 * {@link AsyncTokenizer}, so it can stand in wherever a worker pool or render client would.
 */
export class HuggingFaceTokenizer implements Tokenizer, AsyncTokenizer {
  readonly name: string;
  readonly modelName: string;
  /** The validated `tokenizer.json` (components, added tokens); shared with tokenizers.js, do not mutate. */
  readonly definition: TokenizerDefinition;
  readonly config: TokenizerConfig;
  /** Added tokens (special or not) by id. */
  readonly addedTokens: ReadonlyMap<number, AddedTokenDefinition>;
  readonly vocabularySize: number;
  private readonly implementation: TokenizersJs;
  private readonly templates: ChatTemplateRenderer;

  constructor(init: HuggingFaceTokenizerInit) {
    this.name = init.name;
    const tokenizerFile = init.tokenizerPath ?? `tokenizer.json of ${init.name}`;
    this.definition = parseWithSchema(
      tokenizerDefinitionSchema,
      init.tokenizerJson,
      'tokenizer_load_failed',
      tokenizerFile,
    );
    this.config = parseWithSchema(
      tokenizerConfigSchema,
      init.tokenizerConfig ?? {},
      'tokenizer_load_failed',
      init.configPath ?? `tokenizer_config.json of ${init.name}`,
    );
    try {
      this.implementation = new TokenizersJs(this.definition, this.config);
    } catch (error) {
      throw new LlmdError(
        'tokenizer_load_failed',
        `Tokenizer ${init.name} could not be built from ${tokenizerFile}: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error, ...(init.tokenizerPath === undefined ? {} : { path: init.tokenizerPath }) },
      );
    }
    this.modelName = init.modelName ?? this.config.name_or_path ?? init.name;
    this.addedTokens = new Map(this.definition.added_tokens.map((token) => [token.id, token]));
    this.vocabularySize = this.implementation.model?.vocab.length ?? 0;
    this.templates = new ChatTemplateRenderer(
      init.name,
      chatTemplateSources(this.config, init.chatTemplateFile),
    );
  }

  /** Whether the tokenizer ships a chat template (else `applyChatTemplate` needs `chatTemplate`). */
  get hasChatTemplate(): boolean {
    return this.templates.hasTemplate;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    return this.encodeToTokens(text, options).ids;
  }

  /** Like {@link encode}, also returning the token strings, which the prefix cache uses to find offsets. */
  encodeToTokens(text: string, options?: EncodeOptions): EncodedTokens {
    if (typeof text !== 'string') throw new InvalidArgumentError('text to tokenize must be a string');
    const encoding = this.implementation.encode(text, {
      add_special_tokens: options?.addSpecialTokens ?? true,
    });
    this.assertEncodedIds(encoding.ids, encoding.tokens);
    return { ids: encoding.ids, tokens: encoding.tokens };
  }

  /**
   * tokenizers.js yields a missing id instead of failing when a token is not in the vocabulary (a
   * WordPiece model whose unk_token is absent): such ids would hash and route as garbage.
   */
  private assertEncodedIds(ids: readonly number[], tokens: readonly string[]): void {
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index];
      if (typeof id === 'number' && Number.isInteger(id) && id >= 0) continue;
      throw new LlmdError(
        'tokenizer_load_failed',
        `Tokenizer ${this.name} produced no valid id for token ${JSON.stringify(tokens[index])} (got ${String(id)}); its vocabulary probably lacks the unknown token`,
      );
    }
  }

  decode(ids: readonly number[], options?: DecodeOptions): string {
    if (ids.length === 0) return '';
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabularySize) {
        throw new LlmdError(
          'invalid_token_ids',
          `Token id ${String(id)} is outside the vocabulary of ${this.name} (size ${this.vocabularySize})`,
        );
      }
    }
    return this.implementation.decode([...ids], {
      skip_special_tokens: options?.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: options?.cleanUpTokenizationSpaces ?? null,
    });
  }

  applyChatTemplate(messages: readonly ChatMessage[], options: ChatTemplateOptions = {}): string {
    const request = validateChatRequest(messages, options.tools);
    const source = this.templates.select(
      options.chatTemplate,
      request.tools !== undefined && request.tools.length > 0,
    );
    return this.templates.render(source, {
      request,
      addGenerationPrompt: options.addGenerationPrompt ?? true,
      templateKwargs: options.templateKwargs,
      config: this.config,
    });
  }

  async tokenize(text: string, options?: TokenizeOptions): Promise<number[]> {
    options?.signal?.throwIfAborted();
    return this.encode(text, options);
  }

  async renderChat(messages: readonly ChatMessage[], options?: RenderChatOptions): Promise<number[]> {
    options?.signal?.throwIfAborted();
    return this.encode(this.applyChatTemplate(messages, options), { addSpecialTokens: false });
  }
}
