// Anthropic Messages API (POST /v1/messages) ⇄ canonical OpenAI Chat Completions.
// Wire reference: https://docs.claude.com/en/api/messages and …/messages-streaming.

import type {
  ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatTool, ContentPart, FinishReason, ResponseFormat,
  SseEvent, ToolCall, ToolChoice, Usage,
} from './chat.ts';
import type { ProviderAdapter, StreamDecoder, Target } from './types.ts';

const ANTHROPIC_VERSION = '2023-06-01';

/** Anthropic requires max_tokens; used when the caller set neither max_completion_tokens nor max_tokens. */
export const DEFAULT_MAX_TOKENS = 4096;

/**
 * Anthropic has no JSON mode. The documented substitute is a single tool whose input_schema is the wanted
 * schema, forced through tool_choice; the model's tool input *is* the JSON answer. Responses map a tool_use
 * block with this name back to plain message content, so callers see ordinary JSON-mode output.
 */
export const JSON_TOOL_NAME = 'json_response';

// ---- Anthropic wire shapes (only the fields we read or write) ----

interface TextBlock { type: 'text'; text: string }
interface ImageBlock {
  type: 'image';
  source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string };
}
interface ToolUseBlock { type: 'tool_use'; id: string; name: string; input: unknown }
interface ToolResultBlock { type: 'tool_result'; tool_use_id: string; content?: string }
type Block = TextBlock | ImageBlock | ToolUseBlock | ToolResultBlock;
interface Turn { role: 'user' | 'assistant'; content: Block[] }

export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

interface AnthropicMessage {
  id: string;
  model: string;
  content: { type: string; text?: string; id?: string; name?: string; input?: unknown }[];
  stop_reason: string | null;
  usage?: AnthropicUsage;
}

// ---- request ----

function textOf(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}

/** data: URLs become inline base64 sources; anything else is passed by reference. */
export function imageSource(url: string): ImageBlock['source'] {
  if (!url.startsWith('data:')) return { type: 'url', url };
  const comma = url.indexOf(',');
  const header = url.slice(5, comma); // e.g. "image/png;base64"
  const payload = url.slice(comma + 1);
  const media_type = header.split(';')[0] || 'application/octet-stream';
  const data = header.endsWith(';base64') ? payload : Buffer.from(decodeURIComponent(payload)).toString('base64');
  return { type: 'base64', media_type, data };
}

function userBlocks(content: ChatMessage['content']): Block[] {
  if (content == null) return [];
  const parts: ContentPart[] = typeof content === 'string' ? [{ type: 'text', text: content }] : content;
  const blocks: Block[] = [];
  for (const part of parts) {
    // Anthropic rejects empty text blocks.
    if (part.type === 'text') { if (part.text !== '') blocks.push({ type: 'text', text: part.text }); }
    else blocks.push({ type: 'image', source: imageSource(part.image_url.url) });
  }
  return blocks;
}

/**
 * tool_use.input must be an object. Earlier turns may come from another model whose arguments were not valid
 * JSON; failing the whole conversation over a past call helps no one, so those become {}.
 */
function parseArguments(args: string): Record<string, unknown> {
  try {
    const parsed: unknown = JSON.parse(args);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : {};
  } catch {
    return {};
  }
}

function assistantBlocks(msg: ChatMessage): Block[] {
  const blocks: Block[] = [];
  const text = textOf(msg.content);
  if (text !== '') blocks.push({ type: 'text', text });
  for (const call of msg.tool_calls ?? []) {
    blocks.push({ type: 'tool_use', id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) });
  }
  return blocks;
}

/** Splits canonical messages into Anthropic's top-level system prompt and strictly alternating turns. */
function toTurns(messages: ChatMessage[]): { system: string | undefined; turns: Turn[] } {
  const systemParts: string[] = [];
  const turns: Turn[] = [];
  for (const msg of messages) {
    let role: Turn['role'];
    let blocks: Block[];
    switch (msg.role) {
      case 'system':
      case 'developer':
        systemParts.push(textOf(msg.content));
        continue;
      case 'user':
        role = 'user'; blocks = userBlocks(msg.content); break;
      case 'assistant':
        role = 'assistant'; blocks = assistantBlocks(msg); break;
      case 'tool': {
        // Tool results travel in a user turn; consecutive ones merge below into one turn.
        const text = textOf(msg.content);
        const result: ToolResultBlock = { type: 'tool_result', tool_use_id: msg.tool_call_id ?? '' };
        if (text !== '') result.content = text;
        role = 'user'; blocks = [result]; break;
      }
    }
    if (blocks.length === 0) continue;
    const last = turns.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  }
  return { system: systemParts.length > 0 ? systemParts.join('\n\n') : undefined, turns };
}

function toTool(tool: ChatTool): Record<string, unknown> {
  const out: Record<string, unknown> = { name: tool.function.name };
  if (tool.function.description !== undefined) out.description = tool.function.description;
  out.input_schema = tool.function.parameters ?? { type: 'object', properties: {} };
  return out;
}

function toToolChoice(choice: ToolChoice): Record<string, unknown> {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  return { type: 'tool', name: choice.function.name };
}

/** The forced-tool stand-in for response_format; undefined when no JSON output was asked for. */
function jsonTool(format: ResponseFormat | undefined): Record<string, unknown> | undefined {
  if (format === undefined || format.type === 'text') return undefined;
  if (format.type === 'json_object') {
    return { name: JSON_TOOL_NAME, description: 'Respond with a JSON object.', input_schema: { type: 'object' } };
  }
  const spec = format.json_schema;
  return {
    name: JSON_TOOL_NAME,
    description: spec.description ?? `Respond with a JSON object matching the ${spec.name} schema.`,
    input_schema: spec.schema ?? { type: 'object' },
  };
}

/**
 * With JSON output and caller tools together, the model may still call a caller tool; otherwise it must
 * answer through the JSON tool. A specific forced function is kept as the caller asked.
 */
function jsonToolChoice(callerTools: boolean, choice: ToolChoice | undefined): Record<string, unknown> {
  if (!callerTools || choice === undefined || choice === 'none') return { type: 'tool', name: JSON_TOOL_NAME };
  if (typeof choice === 'object') return toToolChoice(choice);
  return { type: 'any' };
}

function toChatBody(req: ChatRequest, t: Target): Record<string, unknown> {
  if (req.n !== undefined && req.n > 1) {
    throw new Error('n > 1 is not supported by Anthropic models: the Messages API returns one completion per request');
  }
  const { system, turns } = toTurns(req.messages);
  const body: Record<string, unknown> = {
    model: t.model,
    max_tokens: req.max_completion_tokens ?? req.max_tokens ?? DEFAULT_MAX_TOKENS,
  };
  if (system !== undefined) body.system = system;
  body.messages = turns;
  if (req.stop !== undefined) body.stop_sequences = typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.top_p !== undefined) body.top_p = req.top_p;
  if (req.user !== undefined) body.metadata = { user_id: req.user };

  const tools = (req.tools ?? []).map(toTool);
  const json = jsonTool(req.response_format);
  let toolChoice: Record<string, unknown> | undefined;
  if (json) {
    toolChoice = jsonToolChoice(tools.length > 0, req.tool_choice);
    tools.push(json);
  } else if (req.tool_choice !== undefined && tools.length > 0) {
    toolChoice = toToolChoice(req.tool_choice);
  }
  if (req.parallel_tool_calls === false && tools.length > 0 && toolChoice?.type !== 'none') {
    toolChoice = { ...(toolChoice ?? { type: 'auto' }), disable_parallel_tool_use: true };
  }
  if (tools.length > 0) body.tools = tools;
  if (toolChoice) body.tool_choice = toolChoice;
  if (req.stream) body.stream = true;
  return body;
}

// ---- response ----

function finishReason(stopReason: string | null | undefined, answeredViaJsonTool: boolean): FinishReason | null {
  switch (stopReason) {
    case null:
    case undefined:
      return null;
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      // A forced JSON tool is how the answer was delivered, not a call the client must run.
      return answeredViaJsonTool ? 'stop' : 'tool_calls';
    case 'refusal':
      return 'content_filter';
    default: // end_turn, stop_sequence, pause_turn
      return 'stop';
  }
}

/** Folds one event's usage into running counters. Counters are cumulative totals: overwrite, never add;
 * only numeric fields count (message_delta sends nulls for what it does not report). */
export function mergeAnthropicUsage(prev: AnthropicUsage | undefined, u: AnthropicUsage | undefined): AnthropicUsage {
  const merged: AnthropicUsage = { ...prev };
  for (const [key, value] of Object.entries(u ?? {})) {
    if (typeof value === 'number') merged[key as keyof AnthropicUsage] = value;
  }
  return merged;
}

/** Anthropic's input_tokens excludes cache reads and writes; OpenAI's prompt_tokens includes both. */
export function toUsage(u: AnthropicUsage): Usage {
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const prompt = (u.input_tokens ?? 0) + cacheRead + (u.cache_creation_input_tokens ?? 0);
  const completion = u.output_tokens ?? 0;
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: prompt + completion,
    prompt_tokens_details: { cached_tokens: cacheRead },
  };
}

function fromChatBody(body: unknown, _t: Target): ChatResponse {
  const msg = body as AnthropicMessage;
  let text = '';
  let answeredViaJsonTool = false;
  const toolCalls: ToolCall[] = [];
  for (const block of msg.content ?? []) {
    if (block.type === 'text') text += block.text ?? '';
    else if (block.type === 'tool_use' && block.name === JSON_TOOL_NAME) {
      text += JSON.stringify(block.input ?? {});
      answeredViaJsonTool = true;
    } else if (block.type === 'tool_use') {
      toolCalls.push({
        id: block.id ?? '',
        type: 'function',
        function: { name: block.name ?? '', arguments: JSON.stringify(block.input ?? {}) },
      });
    }
    // thinking / redacted_thinking / server tool blocks have no canonical equivalent and are dropped.
  }
  const message: ChatResponse['choices'][number]['message'] = {
    role: 'assistant',
    content: text === '' && toolCalls.length > 0 ? null : text,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  const res: ChatResponse = {
    id: msg.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: msg.model,
    choices: [{ index: 0, message, finish_reason: finishReason(msg.stop_reason, answeredViaJsonTool) ?? 'stop' }],
  };
  if (msg.usage) res.usage = toUsage(msg.usage);
  return res;
}

// ---- streaming ----

/** What a content block index turned out to be, so its deltas can be routed without re-inspection. */
type BlockRoute = { kind: 'text' } | { kind: 'json' } | { kind: 'tool'; toolIndex: number } | { kind: 'ignored' };

interface StreamEvent {
  type: string;
  message?: AnthropicMessage;
  index?: number;
  content_block?: { type: string; id?: string; name?: string; text?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: AnthropicUsage;
  error?: { type?: string; message?: string };
}

class AnthropicStreamDecoder implements StreamDecoder {
  private id = '';
  private model = '';
  private created = Math.floor(Date.now() / 1000);
  private readonly routes = new Map<number, BlockRoute>();
  private nextToolIndex = 0;
  private answeredViaJsonTool = false;
  private usageSoFar: AnthropicUsage | undefined;
  private finished = false;

  push(ev: SseEvent): ChatChunk[] {
    if (ev.data === '') return [];
    const data = JSON.parse(ev.data) as StreamEvent;
    switch (data.type) {
      case 'message_start': {
        const m = data.message;
        this.id = m?.id ?? '';
        this.model = m?.model ?? '';
        this.created = Math.floor(Date.now() / 1000);
        if (m?.usage) this.usageSoFar = mergeAnthropicUsage(undefined, m.usage);
        return [this.chunk({ role: 'assistant', content: '' }, null)];
      }
      case 'content_block_start':
        return this.startBlock(data.index ?? 0, data.content_block);
      case 'content_block_delta':
        return this.blockDelta(data.index ?? 0, data.delta);
      case 'message_delta': {
        if (data.usage) this.usageSoFar = mergeAnthropicUsage(this.usageSoFar, data.usage);
        const reason = finishReason(data.delta?.stop_reason, this.answeredViaJsonTool);
        return reason ? [this.chunk({}, reason)] : [];
      }
      case 'message_stop':
        this.finished = true;
        return [];
      case 'error': {
        const err = data.error ?? {};
        throw Object.assign(new Error(err.message ?? 'Anthropic stream error'), { providerErrorType: err.type ?? 'api_error' });
      }
      default: // ping, content_block_stop, and event types added later
        return [];
    }
  }

  usage(): Usage | undefined {
    return this.usageSoFar ? toUsage(this.usageSoFar) : undefined;
  }

  done(): boolean {
    return this.finished;
  }

  private startBlock(index: number, block: StreamEvent['content_block']): ChatChunk[] {
    if (block?.type === 'text') {
      this.routes.set(index, { kind: 'text' });
      return block.text ? [this.chunk({ content: block.text }, null)] : [];
    }
    if (block?.type === 'tool_use' && block.name === JSON_TOOL_NAME) {
      this.routes.set(index, { kind: 'json' });
      this.answeredViaJsonTool = true;
      return [];
    }
    if (block?.type === 'tool_use') {
      const toolIndex = this.nextToolIndex++;
      this.routes.set(index, { kind: 'tool', toolIndex });
      return [this.chunk({
        tool_calls: [{ index: toolIndex, id: block.id ?? '', type: 'function', function: { name: block.name ?? '', arguments: '' } }],
      }, null)];
    }
    this.routes.set(index, { kind: 'ignored' });
    return [];
  }

  private blockDelta(index: number, delta: StreamEvent['delta']): ChatChunk[] {
    const route = this.routes.get(index);
    if (!route || !delta) return [];
    if (delta.type === 'text_delta' && route.kind === 'text') {
      return delta.text ? [this.chunk({ content: delta.text }, null)] : [];
    }
    if (delta.type !== 'input_json_delta' || !delta.partial_json) return [];
    // The JSON tool's input streams straight out as message text.
    if (route.kind === 'json') return [this.chunk({ content: delta.partial_json }, null)];
    if (route.kind === 'tool') {
      return [this.chunk({ tool_calls: [{ index: route.toolIndex, function: { arguments: delta.partial_json } }] }, null)];
    }
    return [];
  }

  private chunk(delta: ChatChunk['choices'][number]['delta'], finish: FinishReason | null): ChatChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.model,
      choices: [{ index: 0, delta, finish_reason: finish }],
    };
  }
}

// ---- adapter ----

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

export const anthropic: ProviderAdapter = {
  id: 'anthropic',
  wire: 'anthropic',
  defaultBaseURL: 'https://api.anthropic.com',
  chatURL: (t) => `${trimSlash(t.baseURL)}/v1/messages`,
  headers: (t) => ({
    'content-type': 'application/json',
    'anthropic-version': ANTHROPIC_VERSION,
    ...t.headers,
    'x-api-key': t.apiKey,
  }),
  toChatBody,
  fromChatBody,
  streamDecoder: () => new AnthropicStreamDecoder(),
  errorMessage(body) {
    const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
    return typeof message === 'string' ? message : undefined;
  },
};
