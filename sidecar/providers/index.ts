// The provider registry. Adding a provider: one adapter file, one line here, its golden tests.

import { anthropic } from './anthropic.ts';
import { gemini } from './gemini.ts';
import { azureOpenAI, openai, openaiCompatible } from './openai.ts';
import type { ProviderAdapter, ProviderType } from './types.ts';

export const PROVIDERS: Record<ProviderType, ProviderAdapter> = {
  openai,
  'azure-openai': azureOpenAI,
  anthropic,
  gemini,
  'openai-compatible': openaiCompatible,
};
