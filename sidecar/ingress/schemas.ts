// Request shapes checked before routing, so a wrong type is a 400 that names the field instead of an
// upstream error. Open objects: fields we do not model pass through to the provider.

import { Type } from '@sinclair/typebox';
import { compile } from '../../api/validate.ts';
import { StringEnum } from '../../api/common.ts';

const Open = <T extends Parameters<typeof Type.Object>[0]>(p: T) => Type.Object(p, { additionalProperties: true });
const StrOrParts = Type.Union([Type.String(), Type.Array(Open({ type: Type.String() })), Type.Null()]);

const OpenAIMessage = Open({
  role: StringEnum(['system', 'developer', 'user', 'assistant', 'tool'] as const),
  content: Type.Optional(StrOrParts),
  tool_call_id: Type.Optional(Type.String()),
  tool_calls: Type.Optional(Type.Array(Open({ id: Type.String(), type: Type.String(), function: Open({ name: Type.String(), arguments: Type.String() }) }))),
});

export const checkChatRequest = compile(Open({
  model: Type.String({ minLength: 1 }),
  messages: Type.Array(OpenAIMessage, { minItems: 1 }),
  stream: Type.Optional(Type.Boolean()),
  stream_options: Type.Optional(Type.Union([Open({ include_usage: Type.Optional(Type.Boolean()) }), Type.Null()])),
  temperature: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 2 }), Type.Null()])),
  top_p: Type.Optional(Type.Union([Type.Number({ minimum: 0, maximum: 1 }), Type.Null()])),
  max_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  max_completion_tokens: Type.Optional(Type.Union([Type.Integer({ minimum: 1 }), Type.Null()])),
  n: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: 128 }), Type.Null()])),
  stop: Type.Optional(Type.Union([Type.String(), Type.Array(Type.String(), { maxItems: 4 }), Type.Null()])),
  user: Type.Optional(Type.String()),
  tools: Type.Optional(Type.Array(Open({ type: Type.String(), function: Open({ name: Type.String() }) }))),
  response_format: Type.Optional(Open({ type: Type.String() })),
}));

export const checkEmbeddingsRequest = compile(Open({
  model: Type.String({ minLength: 1 }),
  input: Type.Union([Type.String(), Type.Array(Type.String(), { minItems: 1 }), Type.Array(Type.Integer()), Type.Array(Type.Array(Type.Integer()))]),
  dimensions: Type.Optional(Type.Integer({ minimum: 1 })),
  encoding_format: Type.Optional(StringEnum(['float', 'base64'] as const)),
}));

const AnthropicBlock = Open({ type: Type.String() });
export const checkMessagesRequest = compile(Open({
  model: Type.String({ minLength: 1 }),
  max_tokens: Type.Integer({ minimum: 1 }),
  messages: Type.Array(Open({
    role: StringEnum(['user', 'assistant'] as const),
    content: Type.Union([Type.String(), Type.Array(AnthropicBlock)]),
  }), { minItems: 1 }),
  system: Type.Optional(Type.Union([Type.String(), Type.Array(AnthropicBlock)])),
  stream: Type.Optional(Type.Boolean()),
  temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 1 })),
  stop_sequences: Type.Optional(Type.Array(Type.String())),
  tools: Type.Optional(Type.Array(Open({ name: Type.String() }))),
}));
