// Google Gemini API (generateContent, streamGenerateContent?alt=sse, batchEmbedContents) ⇄ canonical
// OpenAI shapes. Wire reference: https://ai.google.dev/api/generate-content and https://ai.google.dev/api/embeddings.

import type {
  ChatChunk, ChatMessage, ChatRequest, ChatResponse, ChatTool, ContentPart, EmbeddingsRequest,
  EmbeddingsResponse, FinishReason, SseEvent, ToolCall, ToolCallDelta, ToolChoice, Usage,
} from './chat.ts';
import type { ProviderAdapter, StreamDecoder, Target } from './types.ts';

// ---- Gemini wire shapes (only the fields we read or write) ----

interface Part {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: { name: string; args?: Record<string, unknown>; id?: string };
  functionResponse?: { name: string; response: Record<string, unknown> };
}
interface Content { role: 'user' | 'model'; parts: Part[] }

interface UsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
  cachedContentTokenCount?: number;
  totalTokenCount?: number;
}
interface Candidate { index?: number; content?: { parts?: Part[] }; finishReason?: string }
interface GenerateContentResponse {
  candidates?: Candidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: UsageMetadata;
  modelVersion?: string;
  responseId?: string;
  error?: { code?: number; message?: string; status?: string };
}

/**
 * Gemini 3 rejects a replayed functionCall part without the thoughtSignature it was issued with. The canonical
 * shape cannot carry signatures (and history may come from another model), so replayed calls get the
 * validator-skip value Google documents for exactly that case (ai.google.dev/gemini-api/docs/thought-signatures).
 */
const REPLAY_THOUGHT_SIGNATURE = 'skip_thought_signature_validator';

// ---- request ----

function textOf(content: ChatMessage['content']): string {
  if (content == null) return '';
  if (typeof content === 'string') return content;
  let text = '';
  for (const part of content) if (part.type === 'text') text += part.text;
  return text;
}

const IMAGE_TYPES: Record<string, string> = {
  png: 'image/png', jpg: 'image/jpeg', jpeg: 'image/jpeg', gif: 'image/gif', webp: 'image/webp',
  heic: 'image/heic', heif: 'image/heif',
};

function imagePart(url: string): Part {
  if (url.startsWith('data:')) {
    const comma = url.indexOf(',');
    const header = url.slice(5, comma); // e.g. "image/png;base64"
    const payload = url.slice(comma + 1);
    const mimeType = header.split(';')[0] || 'application/octet-stream';
    const data = header.endsWith(';base64') ? payload : Buffer.from(decodeURIComponent(payload)).toString('base64');
    return { inlineData: { mimeType, data } };
  }
  const ext = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase();
  const mimeType = ext === undefined ? undefined : IMAGE_TYPES[ext];
  return { fileData: mimeType ? { mimeType, fileUri: url } : { fileUri: url } };
}

function userParts(content: ChatMessage['content']): Part[] {
  if (content == null) return [];
  const parts: ContentPart[] = typeof content === 'string' ? [{ type: 'text', text: content }] : content;
  const out: Part[] = [];
  for (const part of parts) {
    if (part.type === 'text') { if (part.text !== '') out.push({ text: part.text }); }
    else out.push(imagePart(part.image_url.url));
  }
  return out;
}

/** functionCall.args and functionResponse.response must both be JSON objects. */
function asObject(json: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(json);
    return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed) ? parsed as Record<string, unknown> : undefined;
  } catch {
    return undefined;
  }
}

function modelParts(msg: ChatMessage): Part[] {
  const out: Part[] = [];
  const text = textOf(msg.content);
  if (text !== '') out.push({ text });
  let first = true;
  for (const call of msg.tool_calls ?? []) {
    const part: Part = { functionCall: { name: call.function.name, args: asObject(call.function.arguments) ?? {} } };
    // Only the first call of a parallel batch carries a signature.
    if (first) part.thoughtSignature = REPLAY_THOUGHT_SIGNATURE;
    first = false;
    out.push(part);
  }
  return out;
}

/** A tool result that is a JSON object is passed as is; anything else is the documented `output` key. */
function toolResultPart(msg: ChatMessage, toolNames: Map<string, string>): Part {
  const name = toolNames.get(msg.tool_call_id ?? '') ?? msg.name;
  if (name === undefined) {
    throw new Error(`tool message refers to tool_call_id ${JSON.stringify(msg.tool_call_id)}, which no earlier assistant tool_call has; Gemini needs the function name`);
  }
  const text = textOf(msg.content);
  return { functionResponse: { name, response: asObject(text) ?? { output: text } } };
}

function toContents(messages: ChatMessage[]): { system: string | undefined; contents: Content[] } {
  const systemParts: string[] = [];
  const contents: Content[] = [];
  // Gemini's functionResponse is matched by name, which OpenAI tool messages do not carry.
  const toolNames = new Map<string, string>();
  for (const msg of messages) {
    let role: Content['role'];
    let parts: Part[];
    switch (msg.role) {
      case 'system':
      case 'developer':
        systemParts.push(textOf(msg.content));
        continue;
      case 'user':
        role = 'user'; parts = userParts(msg.content); break;
      case 'assistant':
        for (const call of msg.tool_calls ?? []) toolNames.set(call.id, call.function.name);
        role = 'model'; parts = modelParts(msg); break;
      case 'tool':
        role = 'user'; parts = [toolResultPart(msg, toolNames)]; break;
    }
    if (parts.length === 0) continue;
    const last = contents.at(-1);
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  }
  return { system: systemParts.length > 0 ? systemParts.join('\n\n') : undefined, contents };
}

// Gemini's Schema is an OpenAPI 3.0 subset; unknown keywords (additionalProperties, $schema, strict, …) are
// rejected, so only these survive. `format` is restricted the same way.
const SCHEMA_KEYS = new Set([
  'type', 'format', 'title', 'description', 'nullable', 'enum', 'items', 'properties', 'required',
  'minItems', 'maxItems', 'minProperties', 'maxProperties', 'minLength', 'maxLength', 'pattern',
  'minimum', 'maximum', 'anyOf', 'propertyOrdering', 'default', 'example',
]);
const SCHEMA_FORMATS = new Set(['enum', 'date-time', 'float', 'double', 'int32', 'int64']);
const MAX_REF_DEPTH = 8;

/**
 * JSON Schema → Gemini Schema: drops unsupported keywords, inlines local $refs (to a bounded depth, since
 * Gemini has no references), turns `type: [T, "null"]` into `nullable`, and upper-cases type names.
 */
export function toGeminiSchema(schema: unknown, root: unknown = schema, depth = 0): Record<string, unknown> {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return {};
  let node = schema as Record<string, unknown>;
  if (typeof node.$ref === 'string') {
    if (depth >= MAX_REF_DEPTH) return {};
    const target = resolveRef(root, node.$ref);
    if (target === undefined) return {};
    node = { ...target, ...node };
    depth++;
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (!SCHEMA_KEYS.has(key)) continue;
    switch (key) {
      case 'type': {
        const types = Array.isArray(value) ? value : [value];
        const nonNull = types.filter((x) => x !== 'null');
        if (nonNull.length < types.length) out.nullable = true;
        if (typeof nonNull[0] === 'string') out.type = nonNull[0].toUpperCase();
        break;
      }
      case 'format':
        if (typeof value === 'string' && SCHEMA_FORMATS.has(value)) out.format = value;
        break;
      case 'properties': {
        const props: Record<string, unknown> = {};
        for (const [name, sub] of Object.entries(value as Record<string, unknown>)) props[name] = toGeminiSchema(sub, root, depth);
        out.properties = props;
        break;
      }
      case 'items':
        out.items = toGeminiSchema(value, root, depth);
        break;
      case 'anyOf':
        out.anyOf = (value as unknown[]).map((sub) => toGeminiSchema(sub, root, depth));
        break;
      default:
        out[key] = value;
    }
  }
  return out;
}

function resolveRef(root: unknown, ref: string): Record<string, unknown> | undefined {
  if (!ref.startsWith('#/')) return undefined;
  let node: unknown = root;
  for (const segment of ref.slice(2).split('/')) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[segment.replaceAll('~1', '/').replaceAll('~0', '~')];
  }
  return node !== null && typeof node === 'object' ? node as Record<string, unknown> : undefined;
}

function toFunctionDeclaration(tool: ChatTool): Record<string, unknown> {
  const decl: Record<string, unknown> = { name: tool.function.name };
  if (tool.function.description !== undefined) decl.description = tool.function.description;
  const params = tool.function.parameters;
  // Gemini rejects an OBJECT schema with no properties; a function without parameters simply omits them.
  const props = params?.properties;
  if (params && props && typeof props === 'object' && Object.keys(props).length > 0) {
    decl.parameters = toGeminiSchema(params);
  }
  return decl;
}

function toFunctionCallingConfig(choice: ToolChoice): Record<string, unknown> {
  if (choice === 'auto') return { mode: 'AUTO' };
  if (choice === 'none') return { mode: 'NONE' };
  if (choice === 'required') return { mode: 'ANY' };
  return { mode: 'ANY', allowedFunctionNames: [choice.function.name] };
}

function generationConfig(req: ChatRequest): Record<string, unknown> {
  const config: Record<string, unknown> = {};
  if (req.stop !== undefined) config.stopSequences = typeof req.stop === 'string' ? [req.stop] : req.stop;
  if (req.n !== undefined) config.candidateCount = req.n;
  const maxTokens = req.max_completion_tokens ?? req.max_tokens;
  if (maxTokens !== undefined) config.maxOutputTokens = maxTokens;
  if (req.temperature !== undefined) config.temperature = req.temperature;
  if (req.top_p !== undefined) config.topP = req.top_p;
  if (req.seed !== undefined) config.seed = req.seed;
  if (req.presence_penalty !== undefined) config.presencePenalty = req.presence_penalty;
  if (req.frequency_penalty !== undefined) config.frequencyPenalty = req.frequency_penalty;
  const format = req.response_format;
  if (format?.type === 'json_object' || format?.type === 'json_schema') config.responseMimeType = 'application/json';
  if (format?.type === 'json_schema' && format.json_schema.schema) config.responseSchema = toGeminiSchema(format.json_schema.schema);
  return config;
}

// `user` and `parallel_tool_calls` have no Gemini equivalent and are dropped; streaming is chosen by URL.
function toChatBody(req: ChatRequest, _t: Target): Record<string, unknown> {
  const { system, contents } = toContents(req.messages);
  const body: Record<string, unknown> = { contents };
  if (system !== undefined) body.systemInstruction = { parts: [{ text: system }] };
  if (req.tools && req.tools.length > 0) body.tools = [{ functionDeclarations: req.tools.map(toFunctionDeclaration) }];
  if (req.tool_choice !== undefined && req.tools && req.tools.length > 0) {
    body.toolConfig = { functionCallingConfig: toFunctionCallingConfig(req.tool_choice) };
  }
  const config = generationConfig(req);
  if (Object.keys(config).length > 0) body.generationConfig = config;
  return body;
}

// ---- response ----

const CONTENT_FILTER_REASONS = new Set([
  'SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT',
  'IMAGE_RECITATION',
]);

function finishReason(reason: string, calledFunctions: boolean): FinishReason {
  if (reason === 'MAX_TOKENS') return 'length';
  if (CONTENT_FILTER_REASONS.has(reason)) return 'content_filter';
  // Gemini reports STOP after function calls; OpenAI clients look for tool_calls to run them.
  return calledFunctions ? 'tool_calls' : 'stop';
}

/** Gemini has no call ids unless it sends one; synthesise a stable one from position and name. */
function toolCallId(call: NonNullable<Part['functionCall']>, index: number): string {
  return call.id ?? `call_${index}_${call.name}`;
}

/** promptTokenCount already includes cached tokens; thinking tokens are billed as output. */
function toUsage(m: UsageMetadata): Usage {
  const prompt = (m.promptTokenCount ?? 0) + (m.toolUsePromptTokenCount ?? 0);
  const completion = (m.candidatesTokenCount ?? 0) + (m.thoughtsTokenCount ?? 0);
  return {
    prompt_tokens: prompt,
    completion_tokens: completion,
    total_tokens: m.totalTokenCount ?? prompt + completion,
    prompt_tokens_details: { cached_tokens: m.cachedContentTokenCount ?? 0 },
  };
}

/**
 * Google statuses in the Anthropic error vocabulary that the attempt loop classifies stream errors by
 * (rate_limit_error / overloaded_error / api_error retry; anything else is the request's fault).
 * The raw status stays available as providerStatus.
 */
const ERROR_TYPE_BY_STATUS: Record<string, string> = {
  RESOURCE_EXHAUSTED: 'rate_limit_error',
  UNAVAILABLE: 'overloaded_error',
  INTERNAL: 'api_error',
  DEADLINE_EXCEEDED: 'api_error',
  UNKNOWN: 'api_error',
  UNAUTHENTICATED: 'authentication_error',
  PERMISSION_DENIED: 'permission_error',
  NOT_FOUND: 'not_found_error',
};

function providerError(err: NonNullable<GenerateContentResponse['error']>): Error {
  const status = err.status ?? 'UNKNOWN';
  return Object.assign(new Error(err.message ?? 'Gemini error'), {
    providerErrorType: ERROR_TYPE_BY_STATUS[status] ?? 'invalid_request_error',
    providerStatus: status,
  });
}

function fromChatBody(body: unknown, t: Target): ChatResponse {
  const res = body as GenerateContentResponse;
  if (res.error) throw providerError(res.error);
  const choices: ChatResponse['choices'] = [];
  for (const [i, cand] of (res.candidates ?? []).entries()) {
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const part of cand.content?.parts ?? []) {
      if (part.thought) continue; // thought summaries are not answer text
      if (part.text !== undefined) text += part.text;
      if (part.functionCall) {
        toolCalls.push({
          id: toolCallId(part.functionCall, toolCalls.length),
          type: 'function',
          function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
        });
      }
    }
    const message: ChatResponse['choices'][number]['message'] = {
      role: 'assistant',
      content: text === '' && toolCalls.length > 0 ? null : text,
    };
    if (toolCalls.length > 0) message.tool_calls = toolCalls;
    choices.push({ index: cand.index ?? i, message, finish_reason: finishReason(cand.finishReason ?? 'STOP', toolCalls.length > 0) });
  }
  // A blocked prompt comes back with promptFeedback and no candidates at all.
  if (choices.length === 0) {
    choices.push({ index: 0, message: { role: 'assistant', content: null }, finish_reason: res.promptFeedback?.blockReason ? 'content_filter' : 'stop' });
  }
  const out: ChatResponse = {
    id: res.responseId ?? `gemini-${crypto.randomUUID()}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: res.modelVersion ?? t.model,
    choices,
  };
  if (res.usageMetadata) out.usage = toUsage(res.usageMetadata);
  return out;
}

// ---- streaming ----

/** Per-candidate progress, indexed by candidate index. */
interface CandidateState { sentRole: boolean; toolCalls: number }

class GeminiStreamDecoder implements StreamDecoder {
  private readonly model: string;
  private id = '';
  private created = 0;
  private readonly candidates: CandidateState[] = [];
  private lastUsage: UsageMetadata | undefined;
  private finished = false;

  constructor(t: Target) {
    this.model = t.model;
  }

  push(ev: SseEvent): ChatChunk[] {
    if (ev.data === '') return [];
    const res = JSON.parse(ev.data) as GenerateContentResponse;
    if (res.error) throw providerError(res.error);
    if (this.id === '') {
      this.id = res.responseId ?? `gemini-${crypto.randomUUID()}`;
      this.created = Math.floor(Date.now() / 1000);
    }
    const model = res.modelVersion ?? this.model;
    // Intermediate events may carry usageMetadata with no counts yet; keep the last one that has them.
    if (res.usageMetadata?.promptTokenCount !== undefined || res.usageMetadata?.candidatesTokenCount !== undefined) {
      this.lastUsage = res.usageMetadata;
    }
    const chunks: ChatChunk[] = [];
    for (const [i, cand] of (res.candidates ?? []).entries()) {
      const chunk = this.candidateChunk(cand, cand.index ?? i, model);
      if (chunk) chunks.push(chunk);
    }
    if (res.promptFeedback?.blockReason && !res.candidates?.length) {
      this.finished = true;
      chunks.push(this.chunk(model, 0, { role: 'assistant', content: '' }, 'content_filter'));
    }
    return chunks;
  }

  usage(): Usage | undefined {
    return this.lastUsage ? toUsage(this.lastUsage) : undefined;
  }

  done(): boolean {
    return this.finished;
  }

  /** One chunk per candidate per event: its text, any function calls (complete, Gemini does not split them), and its finish. */
  private candidateChunk(cand: Candidate, index: number, model: string): ChatChunk | undefined {
    const state = this.candidates[index] ??= { sentRole: false, toolCalls: 0 };
    const delta: ChatChunk['choices'][number]['delta'] = {};
    if (!state.sentRole) { delta.role = 'assistant'; state.sentRole = true; }
    let text: string | undefined;
    let calls: ToolCallDelta[] | undefined;
    for (const part of cand.content?.parts ?? []) {
      if (part.thought) continue;
      if (part.text) text = text === undefined ? part.text : text + part.text;
      if (part.functionCall) {
        const toolIndex = state.toolCalls++;
        (calls ??= []).push({
          index: toolIndex,
          id: toolCallId(part.functionCall, toolIndex),
          type: 'function',
          function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) },
        });
      }
    }
    if (text !== undefined) delta.content = text;
    else if (delta.role) delta.content = '';
    if (calls) delta.tool_calls = calls;
    let finish: FinishReason | null = null;
    if (cand.finishReason) {
      finish = finishReason(cand.finishReason, state.toolCalls > 0);
      this.finished = true;
    }
    if (text === undefined && !calls && !delta.role && !finish) return undefined;
    return this.chunk(model, index, delta, finish);
  }

  private chunk(model: string, index: number, delta: ChatChunk['choices'][number]['delta'], finish: FinishReason | null): ChatChunk {
    return {
      id: this.id,
      object: 'chat.completion.chunk',
      created: this.created,
      model,
      choices: [{ index, delta, finish_reason: finish }],
    };
  }
}

// ---- embeddings ----

function embeddingTexts(input: EmbeddingsRequest['input']): string[] {
  const list: unknown[] = Array.isArray(input) ? input : [input];
  if (list.some((x) => typeof x !== 'string')) {
    throw new Error('Gemini embeddings take text input only; token-id arrays are not supported');
  }
  return list as string[];
}

// ---- adapter ----

function trimSlash(url: string): string {
  return url.endsWith('/') ? url.slice(0, -1) : url;
}

/** Accepts both "gemini-2.5-flash" and the resource form "models/gemini-2.5-flash". */
function bareModel(t: Target): string {
  return t.model.startsWith('models/') ? t.model.slice('models/'.length) : t.model;
}

function modelPath(t: Target): string {
  return `${trimSlash(t.baseURL)}/v1beta/models/${encodeURIComponent(bareModel(t))}`;
}

export const gemini: ProviderAdapter = {
  id: 'gemini',
  wire: 'gemini',
  defaultBaseURL: 'https://generativelanguage.googleapis.com',
  chatURL: (t, stream) => `${modelPath(t)}${stream ? ':streamGenerateContent?alt=sse' : ':generateContent'}`,
  headers: (t) => ({ 'content-type': 'application/json', ...t.headers, 'x-goog-api-key': t.apiKey }),
  toChatBody,
  fromChatBody,
  streamDecoder: (t) => new GeminiStreamDecoder(t),
  errorMessage(body) {
    const message = (body as { error?: { message?: unknown } } | null)?.error?.message;
    return typeof message === 'string' ? message : undefined;
  },
  embeddings: {
    url: (t) => `${modelPath(t)}:batchEmbedContents`,
    toBody(req, t) {
      const model = `models/${bareModel(t)}`;
      return {
        requests: embeddingTexts(req.input).map((text) => {
          const one: Record<string, unknown> = { model, content: { parts: [{ text }] } };
          if (req.dimensions !== undefined) one.outputDimensionality = req.dimensions;
          return one;
        }),
      };
    },
    // batchEmbedContents reports no token usage, so usage is zeros rather than a guess.
    fromBody(body, t): EmbeddingsResponse {
      const embeddings = (body as { embeddings?: { values?: number[] }[] }).embeddings ?? [];
      return {
        object: 'list',
        data: embeddings.map((e, index) => ({ object: 'embedding', index, embedding: e.values ?? [] })),
        model: t.model,
        usage: { prompt_tokens: 0, total_tokens: 0 },
      };
    },
  },
};
