// Anthropic Messages wire as an ingress: apps built on Anthropic's SDK call the sidecar's POST /v1/messages,
// and their requests, responses and streams are mapped to and from the canonical OpenAI shapes.
// Wire reference: https://docs.claude.com/en/api/messages, …/messages-streaming and …/errors.

import type {
  ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatTool, ContentPart, FinishReason, ToolCall, ToolCallDelta,
  ToolChoice, Usage,
} from '../providers/chat.ts';
import type { IngressCodec, StreamEncoder } from './types.ts';

// ---- Anthropic request shapes (what toCanonical reads) ----

interface ImageSource { type: 'base64'; media_type: string; data: string }
interface UrlSource { type: 'url'; url: string }
interface InBlock {
  type: string;
  text?: string;
  source?: ImageSource | UrlSource | { type: string };
  id?: string;
  name?: string;
  input?: unknown;
  tool_use_id?: string;
  content?: string | InBlock[];
  is_error?: boolean;
}
interface InMessage { role: 'user' | 'assistant'; content: string | InBlock[] }
interface InTool { type?: string; name: string; description?: string; input_schema?: Record<string, unknown> }
interface InToolChoice { type: 'auto' | 'any' | 'tool' | 'none'; name?: string; disable_parallel_tool_use?: boolean }

/** Blocks a client may replay from earlier responses that carry nothing another model can use. */
const DROPPED_BLOCKS = new Set(['thinking', 'redacted_thinking']);

function unsupported(what: string): Error {
  return new Error(`${what} is not supported when routing through Triage's Anthropic ingress`);
}

function imageUrl(block: InBlock): string {
  const src = block.source;
  if (src?.type === 'base64') {
    const s = src as ImageSource;
    return `data:${s.media_type};base64,${s.data}`;
  }
  if (src?.type === 'url') return (src as UrlSource).url;
  throw unsupported(`image source type ${JSON.stringify(src?.type)}`);
}

function blocksOf(content: string | InBlock[]): InBlock[] {
  return typeof content === 'string' ? [{ type: 'text', text: content }] : content;
}

/**
 * One Anthropic user turn → tool messages for its tool_result blocks (they must directly follow the assistant's
 * tool_calls), then one user message for its text and images. Images returned inside tool results cannot ride
 * on an OpenAI tool message, so they move into that user message, labelled with the call they came from.
 */
function userTurn(content: string | InBlock[]): ChatMessage[] {
  const toolMessages: ChatMessage[] = [];
  const parts: ContentPart[] = [];
  for (const block of blocksOf(content)) {
    switch (block.type) {
      case 'text':
        parts.push({ type: 'text', text: block.text ?? '' });
        break;
      case 'image':
        parts.push({ type: 'image_url', image_url: { url: imageUrl(block) } });
        break;
      case 'tool_result': {
        let text = '';
        const images: ContentPart[] = [];
        for (const inner of block.content === undefined ? [] : blocksOf(block.content)) {
          if (inner.type === 'text') text += (text === '' ? '' : '\n') + (inner.text ?? '');
          else if (inner.type === 'image') images.push({ type: 'image_url', image_url: { url: imageUrl(inner) } });
          else throw unsupported(`a ${inner.type} block inside tool_result`);
        }
        // OpenAI tool messages have no error flag; say it in the text so the model still knows.
        if (block.is_error) text = text === '' ? 'Error' : `Error: ${text}`;
        toolMessages.push({ role: 'tool', tool_call_id: block.tool_use_id ?? '', content: text });
        if (images.length > 0) parts.push({ type: 'text', text: `Images returned by tool call ${block.tool_use_id}:` }, ...images);
        break;
      }
      default:
        if (!DROPPED_BLOCKS.has(block.type)) throw unsupported(`the ${block.type} content block`);
    }
  }
  if (parts.length === 0) return toolMessages;
  const only = parts[0];
  const userContent = parts.length === 1 && only?.type === 'text' ? only.text : parts;
  return [...toolMessages, { role: 'user', content: userContent }];
}

function assistantTurn(content: string | InBlock[]): ChatMessage {
  let text = '';
  const toolCalls: ToolCall[] = [];
  for (const block of blocksOf(content)) {
    if (block.type === 'text') text += block.text ?? '';
    else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id ?? '',
        type: 'function',
        function: { name: block.name ?? '', arguments: JSON.stringify(block.input ?? {}) },
      });
    } else if (!DROPPED_BLOCKS.has(block.type)) throw unsupported(`the ${block.type} content block`);
  }
  const msg: ChatMessage = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  return msg;
}

function systemText(system: unknown): string | undefined {
  if (typeof system === 'string') return system === '' ? undefined : system;
  if (!Array.isArray(system)) return undefined;
  const texts = (system as InBlock[]).map((b) => b.text ?? '').filter((t) => t !== '');
  return texts.length > 0 ? texts.join('\n\n') : undefined;
}

function toTool(tool: InTool): ChatTool {
  // Server tools (web_search_…, bash_…, computer_…) run inside Anthropic's API and have no portable form.
  if (tool.type !== undefined && tool.type !== 'custom') throw unsupported(`the ${tool.type} server tool`);
  const fn: ChatTool['function'] = { name: tool.name };
  if (tool.description !== undefined) fn.description = tool.description;
  fn.parameters = tool.input_schema ?? { type: 'object', properties: {} };
  return { type: 'function', function: fn };
}

function toToolChoice(choice: InToolChoice): ToolChoice {
  switch (choice.type) {
    case 'any': return 'required';
    case 'none': return 'none';
    case 'tool': return { type: 'function', function: { name: choice.name ?? '' } };
    default: return 'auto';
  }
}

// top_k, thinking, service_tier and cache_control have no canonical equivalent and are dropped.
function toCanonical(body: Record<string, unknown>): ChatRequest {
  const messages: ChatMessage[] = [];
  const system = systemText(body.system);
  if (system !== undefined) messages.push({ role: 'system', content: system });
  for (const msg of (body.messages ?? []) as InMessage[]) {
    if (msg.role === 'assistant') messages.push(assistantTurn(msg.content));
    else messages.push(...userTurn(msg.content));
  }
  const req: ChatRequest = { model: String(body.model ?? ''), messages };
  if (typeof body.max_tokens === 'number') req.max_tokens = body.max_tokens;
  if (typeof body.temperature === 'number') req.temperature = body.temperature;
  if (typeof body.top_p === 'number') req.top_p = body.top_p;
  if (Array.isArray(body.stop_sequences) && body.stop_sequences.length > 0) req.stop = body.stop_sequences as string[];
  const userId = (body.metadata as { user_id?: unknown } | undefined)?.user_id;
  if (typeof userId === 'string') req.user = userId;
  if (Array.isArray(body.tools) && body.tools.length > 0) req.tools = (body.tools as InTool[]).map(toTool);
  const choice = body.tool_choice as InToolChoice | undefined;
  if (choice) {
    req.tool_choice = toToolChoice(choice);
    if (choice.disable_parallel_tool_use) req.parallel_tool_calls = false;
  }
  // Native structured outputs (output_config.format) are JSON-schema response formats.
  const format = (body.output_config as { format?: { type?: string; schema?: Record<string, unknown> } } | undefined)?.format;
  if (format?.type === 'json_schema' && format.schema) {
    req.response_format = { type: 'json_schema', json_schema: { name: 'response', schema: format.schema } };
  }
  if (body.stream === true) {
    req.stream = true;
    // Anthropic streams always end with usage; ask OpenAI-wire upstreams for it too.
    req.stream_options = { include_usage: true };
  }
  return req;
}

// ---- response ----

type StopReason = 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal';

function stopReason(finish: FinishReason | null | undefined): StopReason {
  switch (finish) {
    case 'length': return 'max_tokens';
    case 'tool_calls':
    case 'function_call': return 'tool_use';
    case 'content_filter': return 'refusal';
    default: return 'end_turn';
  }
}

/** Anthropic ids look like msg_…; keep the upstream id inside so logs still correlate. */
function messageId(id: string): string {
  if (id.startsWith('msg_')) return id;
  return `msg_${id.startsWith('chatcmpl-') ? id.slice('chatcmpl-'.length) : id}`;
}

/** tool_use.input must be an object; unparseable upstream arguments become {} rather than failing the reply. */
function parseInput(args: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(args);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

/** Anthropic's input_tokens excludes cache reads, which OpenAI's prompt_tokens includes. */
function anthropicUsage(u: Usage | undefined): { input_tokens: number; output_tokens: number; cache_read_input_tokens: number } {
  const cached = u?.prompt_tokens_details?.cached_tokens ?? 0;
  return {
    input_tokens: Math.max(0, (u?.prompt_tokens ?? 0) - cached),
    output_tokens: u?.completion_tokens ?? 0,
    cache_read_input_tokens: cached,
  };
}

function contentText(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}

function fromCanonical(res: ChatResponse): unknown {
  const choice = res.choices.find((ch) => ch.index === 0) ?? res.choices[0];
  const content: Record<string, unknown>[] = [];
  const text = contentText(choice?.message.content) + (choice?.message.refusal ?? '');
  if (text !== '') content.push({ type: 'text', text });
  for (const call of choice?.message.tool_calls ?? []) {
    content.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseInput(call.function.arguments) });
  }
  return {
    id: messageId(res.id),
    type: 'message',
    role: 'assistant',
    content,
    model: res.model,
    stop_reason: stopReason(choice?.finish_reason),
    stop_sequence: null,
    usage: anthropicUsage(res.usage),
  };
}

// ---- streaming ----

function frame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * Replays canonical chunks as Anthropic's event grammar: message_start, then per content block
 * content_block_start / _delta… / _stop, then message_delta (stop_reason, usage) and message_stop.
 * Only choice 0 is encoded: Anthropic messages have no alternatives.
 */
class AnthropicStreamEncoder implements StreamEncoder {
  private started = false;
  private finished = false;
  private id = '';
  private nextBlock = 0;
  private openBlock: { index: number; kind: 'text' | 'tool_use' } | undefined;
  /** Canonical tool_call index → Anthropic content block index. */
  private readonly toolBlocks = new Map<number, number>();
  private stop: StopReason | undefined;
  private lastUsage: Usage | undefined;

  chunk(c: ChatChunk): string {
    if (this.finished) return '';
    let out = this.started ? '' : this.start(c.id, c.model, c.usage ?? undefined);
    if (c.usage) this.lastUsage = c.usage;
    const choice = c.choices.find((ch) => ch.index === 0);
    if (choice) {
      const { content, refusal, tool_calls } = choice.delta;
      if (content) out += this.text(content);
      if (refusal) out += this.text(refusal);
      if (tool_calls) for (const call of tool_calls) out += this.toolCall(call);
      if (choice.finish_reason) {
        this.stop = stopReason(choice.finish_reason);
        out += this.closeBlock();
      }
    }
    // Usage normally trails the finish chunk (OpenAI include_usage); once both are known the message can end.
    if (this.stop !== undefined && c.usage) out += this.finish(c.usage);
    return out;
  }

  end(usage: Usage | undefined): string {
    if (this.finished) return '';
    let out = this.started ? '' : this.start('', '', undefined);
    out += this.closeBlock();
    return out + this.finish(usage ?? this.lastUsage);
  }

  error(type: string, message: string): string {
    this.finished = true;
    return frame('error', { type: 'error', error: { type: anthropicErrorType(type), message } });
  }

  private start(id: string, model: string, usage: Usage | undefined): string {
    this.started = true;
    this.id = messageId(id || crypto.randomUUID());
    return frame('message_start', {
      type: 'message_start',
      message: {
        id: this.id,
        type: 'message',
        role: 'assistant',
        content: [],
        model,
        stop_reason: null,
        stop_sequence: null,
        usage: anthropicUsage(usage),
      },
    });
  }

  private text(text: string): string {
    let out = '';
    if (this.openBlock?.kind !== 'text') {
      out += this.closeBlock() + this.openNew('text', { type: 'text', text: '' });
    }
    const index = this.openBlock?.index ?? 0;
    return out + frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text } });
  }

  private toolCall(call: ToolCallDelta): string {
    let out = '';
    // An id marks the first delta of a new call; later deltas only carry argument fragments.
    if (call.id !== undefined) {
      out += this.closeBlock();
      out += this.openNew('tool_use', { type: 'tool_use', id: call.id, name: call.function?.name ?? '', input: {} });
      this.toolBlocks.set(call.index, this.openBlock?.index ?? 0);
    }
    // Upstreams finish one call's arguments before starting the next (OpenAI streams them in order), so the
    // target block is the open one; a straggler for an earlier call still goes to that call's block index.
    const args = call.function?.arguments;
    const index = this.toolBlocks.get(call.index);
    if (args && index !== undefined) {
      out += frame('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: args } });
    }
    return out;
  }

  private openNew(kind: 'text' | 'tool_use', block: Record<string, unknown>): string {
    const index = this.nextBlock++;
    this.openBlock = { index, kind };
    return frame('content_block_start', { type: 'content_block_start', index, content_block: block });
  }

  private closeBlock(): string {
    if (!this.openBlock) return '';
    const { index } = this.openBlock;
    this.openBlock = undefined;
    return frame('content_block_stop', { type: 'content_block_stop', index });
  }

  private finish(usage: Usage | undefined): string {
    this.finished = true;
    return frame('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: this.stop ?? 'end_turn', stop_sequence: null },
      usage: anthropicUsage(usage),
    }) + frame('message_stop', { type: 'message_stop' });
  }
}

// ---- errors ----

const ERROR_TYPE_BY_STATUS: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  402: 'billing_error',
  403: 'permission_error',
  404: 'not_found_error',
  409: 'conflict_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  504: 'timeout_error',
  529: 'overloaded_error',
};

const ANTHROPIC_ERROR_TYPES = new Set(Object.values(ERROR_TYPE_BY_STATUS));

/** Mid-stream errors arrive with an OpenAI-style type; Anthropic clients only know their own. */
function anthropicErrorType(type: string): string {
  if (ANTHROPIC_ERROR_TYPES.has(type)) return type;
  if (type === 'insufficient_quota') return 'rate_limit_error';
  if (type === 'overloaded' || type === 'service_unavailable') return 'overloaded_error';
  return 'api_error';
}

function errorBody(status: number, type: string, message: string): unknown {
  const anthropicType = ERROR_TYPE_BY_STATUS[status]
    ?? (status >= 400 && status < 500 ? 'invalid_request_error' : anthropicErrorType(type));
  return { type: 'error', error: { type: anthropicType, message } };
}

export const anthropicIngress: IngressCodec = {
  wire: 'anthropic',
  toCanonical,
  fromCanonical,
  streamEncoder: () => new AnthropicStreamEncoder(),
  errorBody,
};
