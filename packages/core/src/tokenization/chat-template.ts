import { Template } from '@huggingface/jinja';
import { LlmdError } from '../errors/llmd-error.js';
import type { ChatTool, ValidatedChatRequest } from './chat-messages.js';
import { specialTokenNames, specialTokenText, type TokenizerConfig } from './tokenizer-files.js';

export interface ChatTemplateSources {
  /** The template used when no named one applies. */
  defaultTemplate: string | undefined;
  /** Named templates from `tokenizer_config.json` (`tool_use`, `rag`, …). */
  namedTemplates: ReadonlyMap<string, string>;
}

/** Collect the chat templates a tokenizer ships: a `.jinja` file or `chat_template` (string or named list). */
export function chatTemplateSources(
  config: TokenizerConfig,
  templateFileContent: string | undefined,
): ChatTemplateSources {
  const namedTemplates = new Map<string, string>();
  // Recent transformers versions save the template as chat_template.jinja; when that file exists,
  // transformers ignores every template in the config (named ones too), and vLLM renders what it loads.
  if (templateFileContent !== undefined) return { defaultTemplate: templateFileContent, namedTemplates };
  let defaultTemplate: string | undefined;
  const configured = config.chat_template;
  if (typeof configured === 'string') {
    defaultTemplate = configured;
  } else if (Array.isArray(configured)) {
    for (const { name, template } of configured) namedTemplates.set(name, template);
    defaultTemplate = namedTemplates.get('default');
  }
  return { defaultTemplate, namedTemplates };
}

export interface RenderChatTemplateInput {
  request: ValidatedChatRequest;
  addGenerationPrompt: boolean;
  templateKwargs: Readonly<Record<string, unknown>> | undefined;
  config: TokenizerConfig;
}

/**
 * Compiles and renders chat templates for one tokenizer. Compiled templates are kept per instance
 * (a small bounded map) because parsing a template costs far more than rendering it.
 */
export class ChatTemplateRenderer {
  private static readonly maxCompiledTemplates = 16;
  private readonly compiled = new Map<string, Template>();

  constructor(
    private readonly tokenizerName: string,
    private readonly sources: ChatTemplateSources,
  ) {}

  get hasTemplate(): boolean {
    return this.sources.defaultTemplate !== undefined || this.sources.namedTemplates.size > 0;
  }

  /** Pick the template source: explicit source or name, then `tool_use` when tools are given, then default. */
  select(chatTemplate: string | undefined, hasTools: boolean): string {
    if (chatTemplate !== undefined) return this.sources.namedTemplates.get(chatTemplate) ?? chatTemplate;
    const toolTemplate = hasTools ? this.sources.namedTemplates.get('tool_use') : undefined;
    const selected = toolTemplate ?? this.sources.defaultTemplate;
    if (selected === undefined) {
      throw new LlmdError(
        'chat_template_failed',
        `Tokenizer ${this.tokenizerName} has no chat template (neither chat_template in tokenizer_config.json nor chat_template.jinja); pass chatTemplate explicitly`,
      );
    }
    return selected;
  }

  render(source: string, input: RenderChatTemplateInput): string {
    const template = this.compile(source);
    const context: Record<string, unknown> = {};
    for (const name of specialTokenNames) {
      const text = specialTokenText(input.config, name);
      if (text !== undefined) context[name] = text;
    }
    Object.assign(context, input.templateKwargs);
    context.messages = input.request.messages;
    // Templates test `if tools`, so an absent or empty list must stay falsy rather than become [].
    context.tools =
      input.request.tools !== undefined && input.request.tools.length > 0
        ? input.request.tools.map(templateTool)
        : null;
    context.add_generation_prompt = input.addGenerationPrompt;
    try {
      return template.render(context);
    } catch (error) {
      throw new LlmdError(
        'chat_template_failed',
        `Chat template of ${this.tokenizerName} failed to render: ${errorMessage(error)}`,
        { cause: error },
      );
    }
  }

  private compile(source: string): Template {
    const cached = this.compiled.get(source);
    if (cached !== undefined) return cached;
    let template: Template;
    try {
      template = new Template(source);
    } catch (error) {
      throw new LlmdError(
        'chat_template_failed',
        `Chat template of ${this.tokenizerName} could not be parsed: ${errorMessage(error)}`,
        { cause: error },
      );
    }
    if (this.compiled.size >= ChatTemplateRenderer.maxCompiledTemplates) {
      const oldest = this.compiled.keys().next();
      if (oldest.done !== true) this.compiled.delete(oldest.value);
    }
    this.compiled.set(source, template);
    return template;
  }
}

/**
 * A tool as vLLM passes it to the template: its pydantic model dumped, so `description` and
 * `parameters` are always present (null when not given) and declared fields come before extra ones.
 * Templates print tools with `tojson`, so both matter for the tokens.
 */
function templateTool(tool: ChatTool): Record<string, unknown> {
  const { type, function: definition, ...toolExtras } = tool;
  const { name, description, parameters, ...functionExtras } = definition;
  return {
    type,
    function: { name, description: description ?? null, parameters: parameters ?? null, ...functionExtras },
    ...toolExtras,
  };
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
